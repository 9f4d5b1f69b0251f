/** The OpenAPI 3.1 document of the service, built from the same schemas Fastify validates with. */
import { decisionRequestSchema, decisionResponseSchema, errorResponseSchema, outcomeRequestSchema } from './request-schema';

function strip<T extends object>(s: T): Omit<T, '$id'> {
  const { $id: _id, ...rest } = s as T & { $id?: string };
  return rest;
}

const err = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorResponse' } } } });

export function openApiDocument(version: string): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'paydecide online decisions',
      version,
      description:
        'Growth decisions at payment time. Every fault answers 200 with action `none` and `source: fallback:<reason>` inside the deadline; a payment never waits on this service. Bodies carrying a card number (a Luhn-valid 13-19 digit run) are refused with PD_ERR_PAN_REFUSED and never logged.',
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'A key of PAYDECIDE_API_KEYS.' } },
      schemas: {
        DecisionRequest: strip(decisionRequestSchema),
        DecisionResponse: strip(decisionResponseSchema),
        OutcomeRequest: strip(outcomeRequestSchema),
        ErrorResponse: strip(errorResponseSchema),
      },
    },
    security: [{ bearer: [] }],
    paths: {
      '/v1/decisions': {
        post: {
          summary: 'Which growth action to show now',
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/DecisionRequest' } } } },
          responses: {
            '200': { description: 'A decision (possibly the fail-open default)', content: { 'application/json': { schema: { $ref: '#/components/schemas/DecisionResponse' } } } },
            '400': err('PD_ERR_BAD_JSON, PD_ERR_BAD_BODY (names the field) or PD_ERR_PAN_REFUSED'),
            '401': err('PD_ERR_UNAUTHORIZED: missing or unknown API key'),
            '413': err('PD_ERR_BODY_TOO_LARGE'),
            '415': err('PD_ERR_UNSUPPORTED_MEDIA_TYPE: send application/json'),
          },
        },
      },
      '/v1/outcomes': {
        post: {
          summary: 'Report a conversion (label maturation reads these)',
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/OutcomeRequest' } } } },
          responses: {
            '202': { description: 'Accepted: `{accepted: true, event_id}`' },
            '400': err('PD_ERR_BAD_JSON, PD_ERR_BAD_BODY or PD_ERR_PAN_REFUSED'),
            '401': err('PD_ERR_UNAUTHORIZED'),
            '503': err('PD_ERR_UNAVAILABLE: the event could not be stored; retry'),
          },
        },
      },
      '/healthz': { get: { summary: 'Liveness', security: [], responses: { '200': { description: 'The process serves requests' } } } },
      '/readyz': { get: { summary: 'Readiness: Redis reachable, a live version with campaigns, the adjuster loaded', security: [], responses: { '200': { description: 'Ready' }, '503': { description: 'Not ready, with the reasons' } } } },
      '/metrics': { get: { summary: 'Prometheus metrics', security: [], responses: { '200': { description: 'text/plain exposition format' } } } },
      '/openapi.json': { get: { summary: 'This document', security: [], responses: { '200': { description: 'OpenAPI 3.1' } } } },
    },
  };
}
