// Key administration for tenant admins: create a key (shown once), optionally acting as a user, list
// keys, revoke.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { Api, ApiKey, Me, NewKey, Role, User } from '../lib/api';
import { formatDate } from '../lib/format';
import { ConfirmDialog, ErrorBanner, type ConfirmRequest } from './common';
import { useLatest } from './useLatest';

export function AdminPage({ api, me }: { api: Api; me: Me }) {
  const [keys, setKeys] = useState<ApiKey[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('member');
  const [userId, setUserId] = useState('');
  const [users, setUsers] = useState<User[]>([]);
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<NewKey | null>(null);
  const [confirm, setConfirm] = useState<ConfirmRequest | null>(null);

  // Only the latest load may set the list: the first load, still in flight when a key is created,
  // would otherwise overwrite the fresher list that the creation's reload brought.
  const begin = useLatest();
  const load = useCallback(async () => {
    const latest = begin();
    try {
      const [k, u] = await Promise.all([api.listKeys(), api.listUsers()]);
      if (!latest()) return;
      setKeys(k.keys);
      setUsers(u.users);
    } catch (err) {
      if (!latest()) return;
      setError(err);
      setKeys((k) => k ?? []);
    }
  }, [api, begin]);

  useEffect(() => {
    void load();
  }, [load]);

  const create = async (event: Event) => {
    event.preventDefault();
    if (!name.trim()) {
      setError(new Error('Give the key a name that says who or what will use it.'));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      setCreated(await api.createKey(name.trim(), role, userId || undefined));
      setName('');
      setUserId('');
      await load();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const revoke = (key: ApiKey) =>
    setConfirm({
      title: 'Revoke key?',
      message:
        key.id === me.key_id
          ? `“${key.name}” is the key you are signed in with. Revoking it signs you out at once.`
          : `“${key.name}” will stop working immediately. Anything using it will be refused.`,
      confirmLabel: 'Revoke',
      onConfirm: async () => {
        try {
          await api.revokeKey(key.id);
          await load();
        } catch (err) {
          setError(err);
        }
      },
    });

  return (
    <div class="page admin-page">
      <h1>API keys</h1>
      <section class="card" aria-labelledby="create-key-title">
        <h2 id="create-key-title">Create a key</h2>
        <form class="key-form" onSubmit={create}>
          <label>
            <span>Name</span>
            <input
              type="text"
              value={name}
              maxLength={100}
              placeholder="e.g. finance team laptop"
              onInput={(e) => setName(e.currentTarget.value)}
              required
            />
          </label>
          <label>
            <span>Role</span>
            <select value={role} onChange={(e) => setRole(e.currentTarget.value as Role)}>
              <option value="reader">Reader — ask questions</option>
              <option value="member">Member — upload and ask</option>
              <option value="admin">Admin — also manage keys</option>
            </select>
          </label>
          <label>
            <span>Acts as user</span>
            <select value={userId} onChange={(e) => setUserId(e.currentTarget.value)}>
              <option value="">No user (the key is its own principal)</option>
              {users.map((u) => (
                <option key={u.id} value={u.id}>
                  {u.name}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" class="button primary" disabled={busy}>
            {busy ? 'Creating…' : 'Create key'}
          </button>
        </form>
        {created && <NewKeyNotice created={created} onDone={() => setCreated(null)} />}
      </section>

      {error !== null && <ErrorBanner error={error} onDismiss={() => setError(null)} />}

      <section aria-labelledby="keys-title">
        <h2 id="keys-title">Keys</h2>
        {keys === null ? (
          <p class="muted">Loading keys…</p>
        ) : (
          <div class="table-wrap">
            <table class="key-table" data-testid="key-table">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Role</th>
                  <th scope="col">User</th>
                  <th scope="col">Created</th>
                  <th scope="col">Status</th>
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {keys.map((key) => (
                  <tr key={key.id} data-key-id={key.id} class={key.revoked_at ? 'revoked' : undefined}>
                    <th scope="row" data-label="Name">
                      {key.name}
                      {key.id === me.key_id && <span class="muted"> (this key)</span>}
                    </th>
                    <td data-label="Role">
                      <span class={`role-badge role-${key.role}`}>{key.role}</span>
                    </td>
                    <td data-label="User">
                      {key.user_id ? (users.find((u) => u.id === key.user_id)?.name ?? key.user_id) : '—'}
                    </td>
                    <td data-label="Created">{formatDate(key.created_at)}</td>
                    <td data-label="Status">
                      {key.revoked_at ? `Revoked ${formatDate(key.revoked_at)}` : 'Active'}
                    </td>
                    <td class="row-actions">
                      {!key.revoked_at && (
                        <button
                          type="button"
                          class="button small ghost danger-text"
                          onClick={() => revoke(key)}
                          aria-label={`Revoke ${key.name}`}
                        >
                          Revoke
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <ConfirmDialog request={confirm} onClose={() => setConfirm(null)} />
    </div>
  );
}

function NewKeyNotice({ created, onDone }: { created: NewKey; onDone: () => void }) {
  const [copied, setCopied] = useState<string | null>(null);
  const field = useRef<HTMLInputElement>(null);

  useEffect(() => {
    field.current?.focus();
    field.current?.select();
  }, [created]);

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(created.key);
      setCopied('Copied to the clipboard.');
    } catch {
      // The Clipboard API needs a secure context; plain-HTTP intranet sites fall back to selection.
      field.current?.select();
      const ok = document.execCommand?.('copy');
      setCopied(ok ? 'Copied to the clipboard.' : 'Select the key and copy it with Ctrl+C.');
    }
  };

  return (
    <div class="new-key" role="region" aria-labelledby="new-key-title" data-testid="new-key">
      <h3 id="new-key-title">
        Key for “{created.name}” ({created.role})
      </h3>
      <p>Copy it now: it is shown only once and cannot be recovered.</p>
      <div class="copy-row">
        <label class="visually-hidden" for="new-key-value">
          New API key
        </label>
        <input id="new-key-value" ref={field} readOnly value={created.key} spellcheck={false} />
        <button type="button" class="button primary" onClick={() => void copy()}>
          Copy
        </button>
      </div>
      <p role="status" class="muted">
        {copied}
      </p>
      <button type="button" class="button small ghost" onClick={onDone}>
        I have saved it
      </button>
    </div>
  );
}
