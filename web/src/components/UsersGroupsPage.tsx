// Tenant admins: the people documents are shared with — users and their groups. Keys are bound to a
// user on the Keys page.
import { useState } from 'preact/hooks';
import type { Api, Me } from '../lib/api';
import { ConfirmDialog, ErrorBanner, type ConfirmRequest } from './common';
import { GroupSection } from './GroupSection';
import { useDirectory } from './useDirectory';
import { UserSection } from './UserSection';

export function UsersGroupsPage({ api, me }: { api: Api; me: Me }) {
  const directory = useDirectory(api, me);
  const [error, setError] = useState<unknown>(null);
  const [confirm, setConfirm] = useState<ConfirmRequest | null>(null);
  const shown = error ?? directory.error;

  return (
    <div class="page people-page">
      <h1>Users and groups</h1>
      {shown !== null && <ErrorBanner error={shown} onDismiss={() => setError(null)} />}
      <UserSection api={api} directory={directory} onError={setError} confirm={setConfirm} />
      <GroupSection api={api} directory={directory} onError={setError} confirm={setConfirm} />
      <ConfirmDialog request={confirm} onClose={() => setConfirm(null)} />
    </div>
  );
}
