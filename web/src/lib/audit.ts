// The audit page's filters as the query string of GET /v1/audit and /v1/audit/export, and how an
// event's actor reads. Pure functions, no imports (tested in web/test/audit.test.ts).

/** The actions the gateway records (enclave/audit/events.py); the filter offers them. */
export const AUDIT_ACTIONS = [
  'authenticate',
  'document.upload',
  'document.download',
  'document.delete',
  'document.acl',
  'search',
  'answer',
  'user.create',
  'user.delete',
  'group.create',
  'group.delete',
  'group.member.add',
  'group.member.remove',
  'key.create',
  'key.revoke',
  'audit.read',
  'audit.export',
] as const;

export const AUDIT_OUTCOMES = ['ok', 'denied', 'failed', 'error', 'aborted'] as const;

/** What the filter form holds; `from`/`to` are `<input type="datetime-local">` values (local time). */
export interface AuditFilterForm {
  action: string;
  actor: string;
  document: string;
  outcome: string;
  from: string;
  to: string;
}

export const EMPTY_FILTER: AuditFilterForm = { action: '', actor: '', document: '', outcome: '', from: '', to: '' };

/** A local date-time from the form as ISO 8601 UTC, or null when empty or not a date. */
export function localToIso(value: string): string | null {
  if (!value.trim()) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/** The filter's query parameters (only those set), in the API's names. */
export function auditParams(filter: AuditFilterForm): URLSearchParams {
  const params = new URLSearchParams();
  const set = (name: string, value: string | null) => {
    if (value && value.trim()) params.set(name, value.trim());
  };
  set('action', filter.action);
  set('actor', filter.actor);
  set('document_id', filter.document);
  set('outcome', filter.outcome);
  set('from', localToIso(filter.from));
  set('to', localToIso(filter.to));
  return params;
}

/** The list's query string: the filter, the page size and, past the first page, the cursor. */
export function auditListQuery(filter: AuditFilterForm, limit: number, cursor: number | null): string {
  const params = auditParams(filter);
  params.set('limit', String(limit));
  if (cursor !== null) params.set('cursor', String(cursor));
  return params.toString();
}

/** A sentence for a filter the server would refuse, checked before asking; null when it is fine. */
export function filterProblem(filter: AuditFilterForm): string | null {
  for (const [label, value] of [
    ['From', filter.from],
    ['To', filter.to],
  ] as const) {
    if (value.trim() && localToIso(value) === null) return `${label} is not a date and time.`;
  }
  const from = localToIso(filter.from);
  const to = localToIso(filter.to);
  if (from && to && from >= to) return '“From” must be earlier than “To”.';
  for (const [label, value] of [
    ['Actor', filter.actor],
    ['Document', filter.document],
  ] as const) {
    if (value.trim() && !/^[A-Za-z0-9_-]{1,64}$/.test(value.trim())) {
      return `${label} must be an id: 1-64 letters, digits, '-' or '_'.`;
    }
  }
  return null;
}

/** Who did it: the user's name if the key acts as one, else the key's name, else the id. */
export function actorLabel(
  event: { key_id: string | null; user_id: string | null },
  names: Map<string, string>,
): string {
  if (event.user_id) return names.get(event.user_id) ?? event.user_id;
  if (event.key_id === 'operator') return 'platform operator';
  if (event.key_id) return names.get(event.key_id) ?? event.key_id;
  return 'unknown caller';
}

/** An ACL token ("user:…", "group:…", "tenant") as a person reads it. */
function tokenLabel(token: string, names: Map<string, string>): string {
  if (token === 'tenant') return 'everyone in the tenant';
  const [kind, id] = token.split(':', 2);
  return id && (kind === 'user' || kind === 'group') ? (names.get(id) ?? id) : token;
}

/** An event's details as `name: value` pairs on one line; ACL tokens and ids by name where known. */
export function detailText(
  details: Record<string, unknown>,
  query: string | null,
  names: Map<string, string>,
): string {
  const parts = Object.entries(details).map(([k, v]) => {
    if (k === 'acl' && Array.isArray(v)) return `acl: ${v.map((t) => tokenLabel(String(t), names)).join(', ')}`;
    if (typeof v === 'string') return `${k}: ${names.get(v) ?? v}`;
    return `${k}: ${JSON.stringify(v)}`;
  });
  if (query) parts.unshift(`query: “${query}”`);
  return parts.join(' · ') || '—';
}
