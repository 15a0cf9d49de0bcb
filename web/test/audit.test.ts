// The audit page's filter → the query string of GET /v1/audit and /v1/audit/export.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  actorLabel,
  auditListQuery,
  auditParams,
  detailText,
  EMPTY_FILTER,
  filterProblem,
  localToIso,
} from '../src/lib/audit.ts';

test('an empty filter asks only for the page size', () => {
  assert.equal(auditListQuery(EMPTY_FILTER, 50, null), 'limit=50');
  assert.equal(auditParams(EMPTY_FILTER).toString(), '');
});

test('set fields use the API names; times are sent as UTC ISO 8601', () => {
  const filter = { ...EMPTY_FILTER, action: 'document.acl', actor: ' k1 ', document: 'd9', from: '2024-05-01T10:00' };
  const params = new URLSearchParams(auditListQuery(filter, 20, 123));
  assert.equal(params.get('action'), 'document.acl');
  assert.equal(params.get('actor'), 'k1');
  assert.equal(params.get('document_id'), 'd9');
  assert.equal(params.get('from'), new Date('2024-05-01T10:00').toISOString());
  assert.equal(params.get('to'), null);
  assert.equal(params.get('limit'), '20');
  assert.equal(params.get('cursor'), '123');
  assert.equal(params.get('offset'), null);
});

test('the export carries the same filter but no paging', () => {
  const query = auditParams({ ...EMPTY_FILTER, outcome: 'denied', to: '2024-05-02T00:00' }).toString();
  const params = new URLSearchParams(query);
  assert.equal(params.get('outcome'), 'denied');
  assert.equal(params.get('to'), new Date('2024-05-02T00:00').toISOString());
  assert.equal(params.has('limit'), false);
  assert.equal(params.has('cursor'), false);
});

test('empty or broken times are left out', () => {
  assert.equal(localToIso(''), null);
  assert.equal(localToIso('not a date'), null);
});

test('a filter the server would refuse is named before asking', () => {
  assert.equal(filterProblem(EMPTY_FILTER), null);
  assert.match(filterProblem({ ...EMPTY_FILTER, from: 'soon' }) ?? '', /From is not a date/);
  assert.match(
    filterProblem({ ...EMPTY_FILTER, from: '2024-05-02T00:00', to: '2024-05-01T00:00' }) ?? '',
    /earlier than/,
  );
  assert.match(filterProblem({ ...EMPTY_FILTER, document: 'a b' }) ?? '', /Document must be an id/);
});

test('the actor reads as the user, else the key, else the id', () => {
  const names = new Map([
    ['u1', 'Ann'],
    ['k1', 'laptop'],
  ]);
  assert.equal(actorLabel({ key_id: 'k1', user_id: 'u1' }, names), 'Ann');
  assert.equal(actorLabel({ key_id: 'k1', user_id: null }, names), 'laptop');
  assert.equal(actorLabel({ key_id: 'k2', user_id: null }, names), 'k2');
  assert.equal(actorLabel({ key_id: 'operator', user_id: null }, names), 'platform operator');
  assert.equal(actorLabel({ key_id: null, user_id: null }, names), 'unknown caller');
});

test('details read by name: ACL tokens, ids, the query first', () => {
  const names = new Map([
    ['u1', 'Ann'],
    ['g1', 'Psychiatry'],
  ]);
  assert.equal(
    detailText({ acl: ['user:u1', 'group:g1', 'group:gone', 'tenant'] }, null, names),
    'acl: Ann, Psychiatry, gone, everyone in the tenant',
  );
  assert.equal(detailText({ user: 'u1', records: 1 }, 'dosage', names), 'query: “dosage” · user: Ann · records: 1');
  assert.equal(detailText({}, null, names), '—');
});
