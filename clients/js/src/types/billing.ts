/** Billing: the cost calculator, usage records, HF's cost lookup, and balances.
 * Money is integer nano-USD (1 USD = 1e9) plus a decimal USD string for people. */

export interface CostItem {
  task: string;
  model: string;
  input_tokens?: number;
  output_tokens?: number;
  images?: number;
  input_chars?: number;
}

export interface CostLine extends Required<CostItem> {
  cost_nano_usd: number;
  cost_usd: string;
}

export interface CostQuote {
  total_cost_nano_usd: number;
  total_cost_usd: string;
  costs: CostLine[];
}

export interface UsageQuery {
  /** ISO 8601 times. */
  start?: string;
  end?: string;
  model?: string;
  task?: string;
  /** Another key's records (admin keys). */
  api_key_id?: number;
  cursor?: string;
  limit?: number;
}

export interface UsageRecord {
  request_id: string;
  api_key_id: number;
  created_at: string;
  route: string;
  model: string | null;
  task: string | null;
  provider: string | null;
  status: number;
  input_tokens: number;
  output_tokens: number;
  images: number;
  input_chars: number;
  cost_nano_usd: number;
  cost_usd: string;
  latency_ms: number;
  /** Usage past the request's credit hold or its bounds, not charged; `flags` says why. */
  uncharged_nano_usd: number;
  /** Comma-separated: `hold_exceeded`, `usage_implausible`; empty when neither. */
  flags: string;
}

export interface UsageTotals {
  requests: number;
  input_tokens: number;
  output_tokens: number;
  images: number;
  input_chars: number;
  cost_nano_usd: number;
  cost_usd: string;
}

export interface UsagePage {
  data: UsageRecord[];
  next_cursor: string | null;
  totals: UsageTotals;
}

/** `POST /v1/billing/requests` (admin and partner keys): HF's camelCase shape. */
export interface RequestCosts {
  requests: Array<{ requestId: string; costNanoUsd: number }>;
}

export interface Balance {
  api_key_id: number;
  unlimited: boolean;
  balance_nano_usd: number | null;
  balance_usd: string | null;
}
