// Tenant admins: the audit log, newest first, filtered by action, actor, document, outcome and time,
// paged by cursor (reading the log adds rows of its own, which must not shift the pages), and exported as
// JSON Lines with the same filter.
import { useCallback, useEffect, useState } from 'preact/hooks';
import type { Api, AuditPage as Page, Me } from '../lib/api';
import {
  actorLabel,
  auditListQuery,
  detailText,
  auditParams,
  EMPTY_FILTER,
  filterProblem,
  type AuditFilterForm,
} from '../lib/audit';
import { formatDate } from '../lib/format';
import { AuditFilters } from './AuditFilters';
import { ErrorBanner } from './common';
import { useDirectory } from './useDirectory';
import { useLatest } from './useLatest';

const PAGE_SIZE = 50;

export function AuditPage({ api, me }: { api: Api; me: Me }) {
  const directory = useDirectory(api, me);
  const [filter, setFilter] = useState<AuditFilterForm>(EMPTY_FILTER);
  // cursors[i] is the cursor of page i; the first page has none.
  const [cursors, setCursors] = useState<(number | null)[]>([null]);
  const [page, setPage] = useState<Page | null>(null);
  const [error, setError] = useState<unknown>(null);
  const cursor = cursors[cursors.length - 1];
  const begin = useLatest(); // only the latest filter's answer is shown

  const load = useCallback(async () => {
    const latest = begin();
    try {
      const result = await api.listAudit(auditListQuery(filter, PAGE_SIZE, cursor));
      if (!latest()) return;
      setPage(result);
      setError(null);
    } catch (err) {
      if (latest()) setError(err);
    }
  }, [api, begin, filter, cursor]);

  useEffect(() => {
    void load();
  }, [load]);

  const apply = (next: AuditFilterForm) => {
    const problem = filterProblem(next);
    if (problem) return setError(new Error(problem));
    setFilter(next);
    setCursors([null]);
  };

  const exportLog = async () => {
    try {
      const blob = await api.exportAudit(auditParams(filter).toString());
      const url = URL.createObjectURL(blob);
      const link = document.createElement('a');
      link.href = url;
      link.download = 'audit.jsonl';
      link.click();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (err) {
      setError(err);
    }
  };

  const first = (cursors.length - 1) * PAGE_SIZE + 1;
  const shown = page?.events.length ?? 0;

  return (
    <div class="page audit-page">
      <h1>Audit log</h1>
      <AuditFilters directory={directory} applied={filter} onApply={apply} onExport={() => void exportLog()} />
      {error !== null && <ErrorBanner error={error} onDismiss={() => setError(null)} />}
      {page === null ? (
        <p class="muted">Loading the audit log…</p>
      ) : shown === 0 ? (
        <p class="muted">No audit records match this filter.</p>
      ) : (
        <div class="table-wrap">
          <table class="audit-table" data-testid="audit-table">
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Actor</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">Outcome</th>
                <th scope="col">Source</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {page.events.map((e) => (
                <tr key={e.id} data-seq={e.seq} data-action={e.action} data-outcome={e.outcome}>
                  <td data-label="Time" class="nowrap">
                    {formatDate(e.at)}
                  </td>
                  <td data-label="Actor">{actorLabel(e, directory.names)}</td>
                  <td data-label="Action">
                    <code>{e.action}</code>
                  </td>
                  <td data-label="Target" data-testid="audit-target">
                    {e.target ? (directory.names.get(e.target) ?? e.target) : '—'}
                  </td>
                  <td data-label="Outcome">
                    <span class={`badge outcome-${e.outcome}`}>{e.outcome}</span>
                  </td>
                  <td data-label="Source">{e.source ?? '—'}</td>
                  <td data-label="Details" class="audit-details">
                    {detailText(e.details, e.query, directory.names)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {page !== null && page.total > 0 && (
        <nav class="pager" aria-label="Pages of the audit log">
          <span data-testid="audit-range">
            {shown ? `${first}–${first + shown - 1}` : '0'} of {page.total}
          </span>
          <button
            type="button"
            class="button small"
            disabled={cursors.length === 1}
            onClick={() => setCursors(cursors.slice(0, -1))}
          >
            Newer
          </button>
          <button
            type="button"
            class="button small"
            disabled={page.next_cursor === null || first + shown - 1 >= page.total}
            onClick={() => setCursors([...cursors, page.next_cursor])}
          >
            Older
          </button>
        </nav>
      )}
    </div>
  );
}
