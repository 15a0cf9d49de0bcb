// Tenant admins: the tenant's users — create one (name, email, role), see their groups, delete.
import { useState } from 'preact/hooks';
import { nameOf } from '../lib/access';
import type { Api, Role, User } from '../lib/api';
import { formatDate } from '../lib/format';
import type { ConfirmRequest } from './common';
import type { Directory } from './useDirectory';

interface Props {
  api: Api;
  directory: Directory;
  onError: (err: unknown) => void;
  confirm: (request: ConfirmRequest) => void;
}

export function UserSection({ api, directory, onError, confirm }: Props) {
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('member');
  const [busy, setBusy] = useState(false);

  const create = async (event: Event) => {
    event.preventDefault();
    if (!name.trim()) return onError(new Error('Give the user a name.'));
    setBusy(true);
    try {
      await api.createUser({ name: name.trim(), role, ...(email.trim() ? { email: email.trim() } : {}) });
      setName('');
      setEmail('');
      await directory.reload();
    } catch (err) {
      onError(err);
    } finally {
      setBusy(false);
    }
  };

  const remove = (user: User) =>
    confirm({
      title: 'Delete user?',
      message:
        `“${user.name}” leaves every group and their keys are revoked. ` +
        'Documents they own stay; admins still see them.',
      confirmLabel: 'Delete',
      onConfirm: async () => {
        try {
          await api.deleteUser(user.id);
          await directory.reload();
        } catch (err) {
          onError(err);
        }
      },
    });

  return (
    <section class="card" aria-labelledby="users-title">
      <h2 id="users-title">Users</h2>
      <form class="key-form" onSubmit={create} aria-label="Create a user">
        <label>
          <span>User name</span>
          <input type="text" value={name} maxLength={200} required onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label>
          <span>Email</span>
          <input type="email" value={email} maxLength={320} onInput={(e) => setEmail(e.currentTarget.value)} />
        </label>
        <label>
          <span>User role</span>
          <select value={role} onChange={(e) => setRole(e.currentTarget.value as Role)}>
            <option value="reader">Reader</option>
            <option value="member">Member</option>
            <option value="admin">Admin</option>
          </select>
        </label>
        <button type="submit" class="button primary" disabled={busy}>
          {busy ? 'Creating…' : 'Create user'}
        </button>
      </form>
      {directory.users.length === 0 ? (
        <p class="muted">No users yet. Keys without a user act as themselves.</p>
      ) : (
        <div class="table-wrap">
          <table data-testid="user-table">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">Groups</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {directory.users.map((user) => (
                <tr key={user.id} data-user-id={user.id}>
                  <th scope="row" data-label="Name">
                    {user.name}
                  </th>
                  <td data-label="Email">{user.email ?? '—'}</td>
                  <td data-label="Role">
                    <span class={`role-badge role-${user.role}`}>{user.role}</span>
                  </td>
                  <td data-label="Groups">
                    {user.groups.map((g) => nameOf(g, directory.names)).join(', ') || '—'}
                  </td>
                  <td data-label="Created" class="nowrap">
                    {formatDate(user.created_at)}
                  </td>
                  <td class="row-actions">
                    <button
                      type="button"
                      class="button small ghost danger-text"
                      onClick={() => remove(user)}
                      aria-label={`Delete user ${user.name}`}
                    >
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
