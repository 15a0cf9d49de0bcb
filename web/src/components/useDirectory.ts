// The tenant's users, groups and keys, for showing names instead of ids. Only admins may list them;
// for anyone else the lists stay empty and ids are shown as they are.
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import { nameMap, type Names } from '../lib/access';
import type { Api, ApiKey, Group, Me, User } from '../lib/api';

export interface Directory {
  users: User[];
  groups: Group[];
  keys: ApiKey[];
  names: Names;
  /** Set when the lists could not be read; pages show it as the API's sentence. */
  error: unknown;
  reload: () => Promise<void>;
}

export function useDirectory(api: Api, me: Me, active = true): Directory {
  const admin = me.role === 'admin';
  const [users, setUsers] = useState<User[]>([]);
  const [groups, setGroups] = useState<Group[]>([]);
  const [keys, setKeys] = useState<ApiKey[]>([]);
  const [error, setError] = useState<unknown>(null);

  const reload = useCallback(async () => {
    if (!admin) return;
    try {
      const [u, g, k] = await Promise.all([api.listUsers(), api.listGroups(), api.listKeys()]);
      setUsers(u.users);
      setGroups(g.groups);
      setKeys(k.keys);
      setError(null);
    } catch (err) {
      setError(err);
    }
  }, [api, admin]);

  useEffect(() => {
    if (active) void reload();
  }, [reload, active]);

  const names = useMemo(() => nameMap(users, groups, keys), [users, groups, keys]);
  return { users, groups, keys, names, error, reload };
}
