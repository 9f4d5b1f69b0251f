/**
 * The JSON schemas of the service's request bodies (validated by Fastify's Ajv before a handler
 * runs) and the types derived from them. Unknown fields are refused, so a misspelt field is an
 * error that names it rather than a silently ignored value. The OpenAPI document is built from
 * these same objects (openapi.ts).
 */
import { OFFER_ACTIONS } from '../core/actions';
import { PAYMENT_CHANNELS } from '../core/context-features';
import { CURRENCIES } from '../core/currency';

const TOKEN = '^[A-Za-z0-9_.:@-]+$';

export const DECISION_EVENTS = ['payment_completed', 'payment_failed', 'checkout_started', 'app_open'] as const;
export const PAYMENT_METHODS = ['card', 'bank', 'wallet', 'bnpl', 'balance'] as const;

export const decisionRequestSchema = {
  $id: 'DecisionRequest',
  type: 'object',
  additionalProperties: false,
  required: ['request_id', 'user_id', 'event', 'country'],
  properties: {
    request_id: { type: 'string', minLength: 1, maxLength: 128, pattern: TOKEN, description: "The caller's id of this request (echoed in logs)." },
    user_id: { type: 'string', minLength: 1, maxLength: 128, pattern: TOKEN, description: 'The user id token, as in the batch data.' },
    event: { type: 'string', enum: [...DECISION_EVENTS], description: 'What just happened.' },
    amount: { type: 'number', minimum: 0, maximum: 1e9, description: 'Payment amount in `currency`.' },
    currency: { type: 'string', enum: [...CURRENCIES] },
    mcc: { type: 'string', pattern: '^[0-9]{4}$', description: 'Merchant category code.' },
    merchant_id: { type: 'string', minLength: 1, maxLength: 128, pattern: TOKEN, description: 'Merchant id token.' },
    channel: { type: 'string', enum: [...PAYMENT_CHANNELS] },
    payment_method: { type: 'string', enum: [...PAYMENT_METHODS] },
    country: { type: 'string', pattern: '^[A-Z]{2}$', description: 'The payment country, ISO 3166-1 alpha-2.' },
    auth_outcome: { type: 'string', enum: ['approved', 'declined'], description: 'Defaults from `event` (payment_failed → declined).' },
    offers_shown_today: { type: 'integer', minimum: 0, maximum: 1000, description: "Offers the app already showed today (informational; the service's own counters decide)." },
    occurred_at: { type: 'string', format: 'date-time', description: 'When the event happened (informational; the decision uses the server clock).' },
  },
  dependencies: { amount: ['currency'], currency: ['amount'] },
} as const;

export interface DecisionRequest {
  request_id: string;
  user_id: string;
  event: (typeof DECISION_EVENTS)[number];
  amount?: number;
  currency?: string;
  mcc?: string;
  merchant_id?: string;
  channel?: (typeof PAYMENT_CHANNELS)[number];
  payment_method?: (typeof PAYMENT_METHODS)[number];
  country: string;
  auth_outcome?: 'approved' | 'declined';
  offers_shown_today?: number;
  occurred_at?: string;
}

export const outcomeRequestSchema = {
  $id: 'OutcomeRequest',
  type: 'object',
  additionalProperties: false,
  required: ['user_id', 'action', 'occurred_at'],
  properties: {
    event_id: { type: 'string', minLength: 1, maxLength: 128, pattern: TOKEN, description: "The caller's unique id of this event (de-duplication); made up when absent." },
    decision_id: { type: 'string', minLength: 1, maxLength: 128, pattern: TOKEN, description: 'The decision this conversion follows, when known.' },
    user_id: { type: 'string', minLength: 1, maxLength: 128, pattern: TOKEN },
    action: { type: 'string', enum: [...OFFER_ACTIONS], description: 'The offer action whose goal happened.' },
    value: { type: 'number', minimum: 0, maximum: 1e9, description: 'Value of the conversion in `currency` (default 0).' },
    currency: { type: 'string', enum: [...CURRENCIES] },
    occurred_at: { type: 'string', format: 'date-time' },
  },
  dependencies: { value: ['currency'] },
} as const;

export interface OutcomeRequest {
  event_id?: string;
  decision_id?: string;
  user_id: string;
  action: (typeof OFFER_ACTIONS)[number];
  value?: number;
  currency?: string;
  occurred_at: string;
}

export const decisionResponseSchema = {
  $id: 'DecisionResponse',
  type: 'object',
  required: ['decision_id', 'action', 'campaign_id', 'score', 'expected_value', 'propensity', 'source', 'reasons', 'versions'],
  properties: {
    decision_id: { type: 'string' },
    action: { type: 'string', enum: [...OFFER_ACTIONS, 'none'] },
    campaign_id: { type: ['integer', 'null'] },
    score: { type: 'number', description: "The chosen action's predicted uptake (0 for none)." },
    expected_value: { type: 'number', description: 'Expected incremental value, USD.' },
    propensity: { type: 'number', description: 'Probability that the policy chose this answer.' },
    source: { type: 'string', description: '`model` (adjusted by the online model), `precomputed` (nightly scores as they are) or `fallback:<reason>`.' },
    reasons: { type: 'array', items: { type: 'string' } },
    latency_ms: { type: 'number' },
    versions: {
      type: 'object',
      properties: { scores: { type: ['string', 'null'] }, model: { type: ['string', 'null'] }, adjuster: { type: ['string', 'null'] }, policy: { type: 'string' } },
    },
  },
} as const;

export const errorResponseSchema = {
  $id: 'ErrorResponse',
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' }, field: { type: 'string' } },
    },
  },
} as const;
