// Tenant admins: groups — create, delete, and add or remove members. A document shared with a group is
// visible to its members from their next request on.
import { useState } from 'preact/hooks';
import { nameOf } from '../lib/access';
import type { Api, Group } from '../lib/api';
import type { ConfirmRequest } from './common';
import type { Directory } from './useDirectory';

interface Props {
  api: Api;
  directory: Directory;
  onError: (err: unknown) => void;
  confirm: (request: ConfirmRequest) => void;
}

export function GroupSection({ api, directory, onError, confirm }: Props) {
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);

  const act = async (call: () => Promise<unknown>) => {
    try {
      await call();
      await directory.reload();
    } catch (err) {
      onError(err);
    }
  };

  const create = async (event: Event) => {
    event.preventDefault();
    if (!name.trim()) return onError(new Error('Give the group a name.'));
    setBusy(true);
    await act(async () => {
      await api.createGroup(name.trim());
      setName('');
    });
    setBusy(false);
  };

  const remove = (group: Group) =>
    confirm({
      title: 'Delete group?',
      message: `Documents shared only with “${group.name}” become visible to their owners and admins alone.`,
      confirmLabel: 'Delete',
      onConfirm: () => act(() => api.deleteGroup(group.id)),
    });

  return (
    <section class="card" aria-labelledby="groups-title">
      <h2 id="groups-title">Groups</h2>
      <form class="key-form" onSubmit={create} aria-label="Create a group">
        <label>
          <span>Group name</span>
          <input type="text" value={name} maxLength={200} required onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <button type="submit" class="button primary" disabled={busy}>
          {busy ? 'Creating…' : 'Create group'}
        </button>
      </form>
      {directory.groups.length === 0 ? (
        <p class="muted">No groups yet.</p>
      ) : (
        <ul class="group-list" data-testid="group-list">
          {directory.groups.map((group) => (
            <GroupItem
              key={group.id}
              group={group}
              directory={directory}
              onAdd={(userId) => act(() => api.addMember(group.id, userId))}
              onRemove={(userId) => act(() => api.removeMember(group.id, userId))}
              onDelete={() => remove(group)}
            />
          ))}
        </ul>
      )}
    </section>
  );
}

interface ItemProps {
  group: Group;
  directory: Directory;
  onAdd: (userId: string) => Promise<void>;
  onRemove: (userId: string) => Promise<void>;
  onDelete: () => void;
}

function GroupItem({ group, directory, onAdd, onRemove, onDelete }: ItemProps) {
  const [choice, setChoice] = useState('');
  const candidates = directory.users.filter((u) => !group.members.includes(u.id));
  const label = `Add a member to ${group.name}`;

  return (
    <li class="group-item" data-group-id={group.id} data-group-name={group.name}>
      <div class="group-head">
        <h3>{group.name}</h3>
        <button
          type="button"
          class="button small ghost danger-text"
          onClick={onDelete}
          aria-label={`Delete group ${group.name}`}
        >
          Delete
        </button>
      </div>
      <ul class="member-list" aria-label={`Members of ${group.name}`}>
        {group.members.length === 0 && <li class="muted">No members.</li>}
        {group.members.map((userId) => {
          const who = nameOf(userId, directory.names);
          return (
            <li key={userId} class="member-chip" data-user-id={userId}>
              {who}
              <button
                type="button"
                class="icon-button"
                onClick={() => void onRemove(userId)}
                aria-label={`Remove ${who} from ${group.name}`}
              >
                ×
              </button>
            </li>
          );
        })}
      </ul>
      {candidates.length > 0 && (
        <form
          class="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            if (choice) void onAdd(choice).then(() => setChoice(''));
          }}
        >
          <select value={choice} onChange={(e) => setChoice(e.currentTarget.value)} aria-label={label}>
            <option value="">Choose a user…</option>
            {candidates.map((u) => (
              <option key={u.id} value={u.id}>
                {u.name}
                {u.email ? ` <${u.email}>` : ''}
              </option>
            ))}
          </select>
          <button type="submit" class="button small" disabled={!choice} aria-label={`Add to ${group.name}`}>
            Add
          </button>
        </form>
      )}
    </li>
  );
}
