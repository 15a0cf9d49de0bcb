// The library's "Access" cell: who owns a document, who else may see it, and (for its owner or an
// admin) the button that opens the ACL editor.
import { aclSummary, ownerLabel, type Names } from '../lib/access';
import type { Doc } from '../lib/api';

interface Props {
  doc: Doc;
  /** The caller's user id, or key id for a key without a user. */
  self: string;
  names: Names;
  onEdit: (() => void) | null;
}

export function AccessCell({ doc, self, names, onEdit }: Props) {
  const owner = doc.owner ?? null;
  return (
    <td data-label="Access" class="doc-access">
      <span class="acl-summary" data-testid="acl-summary">
        {aclSummary(doc.acl ?? null, owner, names)}
      </span>
      <span class="muted owner" data-testid="doc-owner">
        Owner: {ownerLabel(owner, self, names)}
      </span>
      {onEdit && (
        <button
          type="button"
          class="button small ghost"
          onClick={onEdit}
          aria-label={`Change access to ${doc.filename}`}
        >
          Change access
        </button>
      )}
    </td>
  );
}
