// The audit page's filter form: edited as a draft, applied on "Apply filter", exported as shown.
import { useState } from 'preact/hooks';
import { AUDIT_ACTIONS, AUDIT_OUTCOMES, EMPTY_FILTER, type AuditFilterForm } from '../lib/audit';
import type { Directory } from './useDirectory';

interface Props {
  directory: Directory;
  applied: AuditFilterForm;
  onApply: (filter: AuditFilterForm) => void;
  onExport: () => void;
}

export function AuditFilters({ directory, applied, onApply, onExport }: Props) {
  const [draft, setDraft] = useState<AuditFilterForm>(applied);
  const field = (name: keyof AuditFilterForm) => ({
    value: draft[name],
    onInput: (e: Event) => setDraft({ ...draft, [name]: (e.currentTarget as HTMLInputElement).value }),
  });
  const actors = [
    ...directory.users.map((u) => ({ id: u.id, label: `${u.name} (user)` })),
    ...directory.keys.map((k) => ({ id: k.id, label: `${k.name} (key)` })),
  ];

  return (
    <form
      class="card audit-filters key-form"
      aria-label="Filter the audit log"
      onSubmit={(e) => {
        e.preventDefault();
        onApply(draft);
      }}
    >
      <label>
        <span>Action</span>
        <select {...field('action')} onChange={field('action').onInput}>
          <option value="">Any action</option>
          {AUDIT_ACTIONS.map((a) => (
            <option key={a} value={a}>
              {a}
            </option>
          ))}
        </select>
      </label>
      <label>
        <span>Actor</span>
        <select {...field('actor')} onChange={field('actor').onInput}>
          <option value="">Anyone</option>
          {actors.map((a) => (
            <option key={a.id} value={a.id}>
              {a.label}
            </option>
          ))}
        </select>
      </label>
      <label>
        <span>Document id</span>
        <input type="text" maxLength={64} spellcheck={false} {...field('document')} />
      </label>
      <label>
        <span>Outcome</span>
        <select {...field('outcome')} onChange={field('outcome').onInput}>
          <option value="">Any outcome</option>
          {AUDIT_OUTCOMES.map((o) => (
            <option key={o} value={o}>
              {o}
            </option>
          ))}
        </select>
      </label>
      <label>
        <span>From</span>
        <input type="datetime-local" step={1} {...field('from')} />
      </label>
      <label>
        <span>To</span>
        <input type="datetime-local" step={1} {...field('to')} />
      </label>
      <div class="filter-actions">
        <button type="submit" class="button primary">
          Apply filter
        </button>
        <button
          type="button"
          class="button"
          onClick={() => {
            setDraft(EMPTY_FILTER);
            onApply(EMPTY_FILTER);
          }}
        >
          Clear
        </button>
        <button type="button" class="button" onClick={onExport} title="The applied filter's records, oldest first">
          Export JSONL
        </button>
      </div>
    </form>
  );
}
