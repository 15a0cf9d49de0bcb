// Who may see a document: everyone in the tenant, only its owner (and admins), or chosen users and
// groups. Owners and admins change it here; the change reaches search before the save returns.
import { useEffect, useRef, useState } from 'preact/hooks';
import { aclBody, aclMode, nameOf, otherUsers, parseIds, type AclMode } from '../lib/access';
import type { Api, Doc } from '../lib/api';
import { ErrorBanner } from './common';
import type { Directory } from './useDirectory';

interface Props {
  api: Api;
  doc: Doc;
  /** Admins pick from the tenant's lists; others (who cannot list them) type ids. */
  directory: Directory | null;
  onClose: () => void;
  onSaved: (doc: Doc) => void;
}

export function AclEditor({ api, doc, directory, onClose, onSaved }: Props) {
  const owner = doc.owner ?? null;
  const current = doc.acl ?? null;
  const ref = useRef<HTMLDialogElement>(null);
  const [mode, setMode] = useState<AclMode>(aclMode(current, owner));
  const [users, setUsers] = useState<string[]>(otherUsers(current, owner));
  const [groups, setGroups] = useState<string[]>(current?.groups ?? []);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (ref.current && !ref.current.open) ref.current.showModal();
  }, []);

  const save = async (event: Event) => {
    event.preventDefault();
    const body = aclBody(mode, users, groups);
    if (typeof body === 'string') return setError(new Error(body));
    setBusy(true);
    setError(null);
    try {
      onSaved(await api.setAcl(doc.id, body));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const choice = (value: AclMode, label: string) => (
    <label class="choice">
      <input type="radio" name="acl-mode" value={value} checked={mode === value} onChange={() => setMode(value)} />
      {label}
    </label>
  );

  return (
    <dialog ref={ref} class="dialog acl-dialog" aria-labelledby="acl-title" onClose={onClose} data-testid="acl-editor">
      <form onSubmit={save}>
        <h2 id="acl-title">Who may see “{doc.filename}”</h2>
        <fieldset class="acl-modes">
          <legend class="visually-hidden">Access</legend>
          {choice('tenant', 'Everyone in the tenant')}
          {choice('owner', 'Only the owner and admins')}
          {choice('chosen', 'Chosen users and groups')}
        </fieldset>
        {mode === 'chosen' &&
          (directory ? (
            <Pickers
              directory={directory}
              owner={owner}
              users={users}
              groups={groups}
              setUsers={setUsers}
              setGroups={setGroups}
            />
          ) : (
            <IdFields users={users} groups={groups} setUsers={setUsers} setGroups={setGroups} />
          ))}
        <p class="muted">The owner and the tenant's admins can always see it.</p>
        {error !== null && <ErrorBanner error={error} />}
        <div class="dialog-actions">
          <button type="button" class="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="button primary" disabled={busy}>
            {busy ? 'Saving…' : 'Save access'}
          </button>
        </div>
      </form>
    </dialog>
  );
}

interface PickerProps {
  directory: Directory;
  owner: string | null;
  users: string[];
  groups: string[];
  setUsers: (ids: string[]) => void;
  setGroups: (ids: string[]) => void;
}

function toggle(ids: string[], id: string, on: boolean): string[] {
  return on ? [...ids.filter((i) => i !== id), id] : ids.filter((i) => i !== id);
}

function Pickers({ directory, owner, users, groups, setUsers, setGroups }: PickerProps) {
  // An id already in the ACL but no longer in the tenant's lists is kept, and shown as its id.
  const groupIds = [...new Set([...directory.groups.map((g) => g.id), ...groups])];
  const userIds = [...new Set([...directory.users.map((u) => u.id), ...users])].filter((u) => u !== owner);
  const box = (kind: 'group' | 'user', id: string, chosen: string[], set: (ids: string[]) => void) => (
    <label key={id} class="choice">
      <input
        type="checkbox"
        checked={chosen.includes(id)}
        onChange={(e) => set(toggle(chosen, id, e.currentTarget.checked))}
      />
      {nameOf(id, directory.names)}
      <span class="visually-hidden"> ({kind})</span>
    </label>
  );
  return (
    <div class="acl-pickers">
      <fieldset>
        <legend>Groups</legend>
        {groupIds.length === 0 && <p class="muted">No groups yet: create them under Users and groups.</p>}
        {groupIds.map((id) => box('group', id, groups, setGroups))}
      </fieldset>
      <fieldset>
        <legend>Users</legend>
        {userIds.length === 0 && <p class="muted">No other users yet.</p>}
        {userIds.map((id) => box('user', id, users, setUsers))}
      </fieldset>
    </div>
  );
}

function IdFields({ users, groups, setUsers, setGroups }: Omit<PickerProps, 'directory' | 'owner'>) {
  return (
    <div class="acl-pickers">
      <label>
        <span>Group ids</span>
        <input type="text" value={groups.join(', ')} onChange={(e) => setGroups(parseIds(e.currentTarget.value))} />
      </label>
      <label>
        <span>User ids</span>
        <input type="text" value={users.join(', ')} onChange={(e) => setUsers(parseIds(e.currentTarget.value))} />
      </label>
      <p class="muted">Ask a tenant admin for the ids of the users and groups to share with.</p>
    </div>
  );
}
