/**
 * The growth actions, in the fixed order used by score records, model outputs and reports.
 * The index of an action in this list is part of the record format: never reorder.
 */
export const ACTIONS = ['cashback', 'referral_prompt', 'autopay_setup', 'card_on_file', 'installment_offer', 'none'] as const;
export type Action = (typeof ACTIONS)[number];
/** The actions that are offers (everything but `none`). */
export const OFFER_ACTIONS = ACTIONS.filter((a) => a !== 'none') as Exclude<Action, 'none'>[];
export function actionIndex(a: string): number {
  const i = (ACTIONS as readonly string[]).indexOf(a);
  if (i < 0) throw new Error(`unknown action ${a}`);
  return i;
}
