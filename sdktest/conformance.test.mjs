// Wire-compatibility test: drives a running smartcrm server with the
// unmodified official Bitrix24 JS SDK (@bitrix24/b24jssdk, pinned in
// package.json). If the server drifts from what the real client sends or
// expects, one of these tests fails.
//
// Run: SMARTCRM_WEBHOOK=http://127.0.0.1:PORT/rest/1/SECRET/ node --test sdktest/
// The Go test internal/conformance (TestB24JSSDK) starts the server and does
// exactly that, against SQLite and PostgreSQL.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { AjaxError, AjaxResult, ApiVersion, B24Hook } from '@bitrix24/b24jssdk'

// ---------------------------------------------------------------------------
// Client set-up
// ---------------------------------------------------------------------------

const WEBHOOK = process.env.SMARTCRM_WEBHOOK
if (!WEBHOOK) {
  throw new Error(
    'SMARTCRM_WEBHOOK is not set: start the server and export its webhook URL, ' +
      'e.g. SMARTCRM_WEBHOOK=http://127.0.0.1:8080/rest/1/secret/ (or run go test ./internal/conformance/)'
  )
}

const webhookUrl = new URL(WEBHOOK)
const pathMatch = webhookUrl.pathname.match(/^\/rest\/(\d+)\/([^/]+)\/?$/)
if (!pathMatch) {
  throw new Error(`SMARTCRM_WEBHOOK must look like http://HOST:PORT/rest/<userId>/<secret>/, got path ${webhookUrl.pathname}`)
}
const USER_ID = Number.parseInt(pathMatch[1], 10)
const SECRET = decodeURIComponent(pathMatch[2])
// Base for the raw fetch() calls below; always ends in '/'.
const RAW_BASE = `${webhookUrl.origin}/rest/${USER_ID}/${pathMatch[2]}/`

// The SDK's client-side throttling is tuned for bitrix24.com (a leaky bucket
// of 2 requests/s) and would make this suite take minutes. The server under
// test is local, so open the bucket wide and switch the adaptive delays off.
// maxRetries 1 means "no retries": a conformance test must see the first
// answer, not have a flaky 5xx papered over by the SDK's back-off.
// restrictionParams is merged shallowly over the defaults, so each nested
// object is given in full.
const FAST_LIMITS = {
  rateLimit: { burstLimit: 100000, drainRate: 100000, adaptiveEnabled: false },
  operatingLimit: { windowMs: 600000, limitMs: 480000, heavyPercent: 80 },
  adaptiveConfig: { enabled: false, thresholdPercent: 80, coefficient: 0.01, maxDelay: 7000 },
  maxRetries: 1,
  retryDelay: 100,
  retryOnNetworkError: false
}

// B24Hook.fromWebhookUrl() refuses http:// URLs, so the hook is built from its
// parts. The SDK then rewrites the scheme to https:// (it keeps host and port).
const b24 = new B24Hook({ b24Url: webhookUrl.origin, userId: USER_ID, secret: SECRET }, { restrictionParams: FAST_LIMITS })
b24.offClientSideWarning()

// The test server speaks plain http on loopback. Undo the SDK's forced https
// with an axios request interceptor, installed through the SDK's public
// getHttpClient(version).ajaxClient getter; the SDK itself stays unmodified.
// Only URLs for our own host are rewritten; anything else is refused so the
// suite can never talk to a host other than the server under test.
const httpsPrefix = `https://${webhookUrl.host}/`
let rewrittenRequests = 0
for (const version of [ApiVersion.v2, ApiVersion.v3]) {
  b24.getHttpClient(version).ajaxClient.interceptors.request.use((config) => {
    const url = String(config.url ?? '')
    if (!url.startsWith(httpsPrefix)) {
      throw new Error(`conformance: unexpected request URL from the SDK: ${url.replace(SECRET, '***')}`)
    }
    config.url = `http://${url.slice('https://'.length)}`
    rewrittenRequests++
    return config
  })
}

const http2 = () => b24.getHttpClient(ApiVersion.v2)

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

// call runs one REST v2 method through the SDK and returns its AjaxResult,
// failing the test if the server answered with an error.
async function call (method, params) {
  const res = await b24.actions.v2.call.make({ method, params })
  assert.ok(res instanceof AjaxResult, `${method}: SDK did not return an AjaxResult`)
  assert.ok(res.isSuccess, `${method} failed: ${res.getErrorMessages().join('; ')}`)
  assertTime(res.getData().time, method)
  return res
}

// result is call() and then the `result` payload.
async function result (method, params) {
  return (await call(method, params)).getData().result
}

// assertTime checks the `time` block the SDK reads after every success. The
// SDK destructures time.operating / time.operating_reset_at; without `time`
// every call fails inside the SDK, so this is a hard wire requirement.
function assertTime (time, where) {
  assert.equal(typeof time, 'object', `${where}: response has no time object`)
  assert.notEqual(time, null, `${where}: response time is null`)
  assert.equal(typeof time.start, 'number', `${where}: time.start is not a number`)
  assert.equal(typeof time.finish, 'number', `${where}: time.finish is not a number`)
  assert.equal(typeof time.duration, 'number', `${where}: time.duration is not a number`)
  assert.equal(typeof time.date_start, 'string', `${where}: time.date_start is not a string`)
  assert.equal(typeof time.date_finish, 'string', `${where}: time.date_finish is not a string`)
}

// assertOperating mirrors the SDK's own integration specs, which require every
// batch sub-result's time to carry operating >= 0 and operating_reset_at > 0.
function assertOperating (time, where) {
  assertTime(time, where)
  assert.equal(typeof time.operating, 'number', `${where}: time.operating is not a number`)
  assert.ok(time.operating >= 0, `${where}: time.operating < 0`)
  assert.equal(typeof time.operating_reset_at, 'number', `${where}: time.operating_reset_at is not a number`)
  assert.ok(time.operating_reset_at > 0, `${where}: time.operating_reset_at is not > 0`)
}

// newType creates a fresh smart process so every test owns its items and can
// count them exactly.
async function newType (title) {
  const res = await result('crm.type.add', { fields: { title, isStagesEnabled: 'Y' } })
  assert.equal(typeof res?.type, 'object', 'crm.type.add: result.type missing')
  assert.equal(res.type.title, title, 'crm.type.add: title not echoed')
  assert.ok(Number.isInteger(res.type.entityTypeId), 'crm.type.add: entityTypeId is not an integer')
  assert.ok(Number.isInteger(res.type.id), 'crm.type.add: id is not an integer')
  return res.type
}

// expectAjaxError asserts that promise rejects with an SDK AjaxError of the
// given code and HTTP status (null code: any code).
async function expectAjaxError (promise, code, status) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof AjaxError, `expected AjaxError, got ${err?.name}: ${err?.message}`)
    if (code !== null) {
      assert.equal(err.code, code, `error code (message: ${err.message})`)
    }
    assert.equal(err.status, status, `HTTP status for ${err.code}`)
    return true
  })
}

// rawPost sends a JSON POST bypassing the SDK (used where the SDK would refuse
// to send the request at all). Returns {status, body}.
async function rawPost (method, body) {
  const res = await fetch(RAW_BASE + method, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body)
  })
  const text = await res.text()
  let parsed
  try {
    parsed = JSON.parse(text)
  } catch {
    assert.fail(`${method}: response is not JSON (HTTP ${res.status}): ${text.slice(0, 300)}`)
  }
  return { status: res.status, body: parsed }
}

const ids = (items) => items.map((it) => Number(it.id))

// ---------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------

test('single calls: crm.type.add, crm.item.add/get/update, NOT_FOUND, delete', async () => {
  const type = await newType('SDK single calls')
  const entityTypeId = type.entityTypeId

  // crm.type.get by id returns the same type.
  const got = await result('crm.type.get', { id: type.id })
  assert.equal(got.type.entityTypeId, entityTypeId)
  assert.equal(got.type.title, 'SDK single calls')

  const added = await result('crm.item.add', { entityTypeId, fields: { title: 'First item' } })
  assert.equal(typeof added?.item, 'object', 'crm.item.add: result.item missing')
  const id = Number(added.item.id)
  assert.ok(Number.isInteger(id) && id > 0, `crm.item.add: bad id ${added.item.id}`)
  assert.equal(added.item.title, 'First item')

  const fetched = await result('crm.item.get', { entityTypeId, id })
  assert.equal(Number(fetched.item.id), id)
  assert.equal(fetched.item.title, 'First item')

  const updated = await result('crm.item.update', { entityTypeId, id, fields: { title: 'Renamed item' } })
  assert.equal(updated.item.title, 'Renamed item', 'crm.item.update: result.item not the updated item')
  const refetched = await result('crm.item.get', { entityTypeId, id })
  assert.equal(refetched.item.title, 'Renamed item', 'crm.item.get after update')

  // A missing item: HTTP 400 with {error:"NOT_FOUND"}; the SDK treats
  // NOT_FOUND as a hard error and throws an AjaxError without retrying.
  await expectAjaxError(
    b24.actions.v2.call.make({ method: 'crm.item.get', params: { entityTypeId, id: id + 1000000 } }),
    'NOT_FOUND',
    400
  )

  // Delete the item, then it is NOT_FOUND too; then the empty type can go.
  await call('crm.item.delete', { entityTypeId, id })
  await expectAjaxError(
    b24.actions.v2.call.make({ method: 'crm.item.get', params: { entityTypeId, id } }),
    'NOT_FOUND',
    400
  )
  await call('crm.type.delete', { id: type.id })
  // Bitrix answers a missing type with the integer error code 0, which the
  // SDK cannot name, so only the rejection and its status are checked.
  await expectAjaxError(b24.actions.v2.call.make({ method: 'crm.type.get', params: { id: type.id } }), null, 400)

  // Sanity check of the workaround itself: every request went through the
  // interceptor, i.e. the SDK really did ask for https.
  assert.ok(rewrittenRequests > 0, 'the https->http interceptor never ran')
})

test('list: 125 items via batch chunks, keyset helpers, classic start/next paging', async () => {
  const { entityTypeId } = await newType('SDK list')
  const TOTAL = 125

  // The SDK's batchByChunk splits the 125 adds into batches of 50, 50, 25.
  const calls = []
  for (let i = 1; i <= TOTAL; i++) {
    calls.push(['crm.item.add', { entityTypeId, fields: { title: `List item ${String(i).padStart(3, '0')}` } }])
  }
  const addRes = await b24.actions.v2.batchByChunk.make({ calls, options: { isHaltOnError: true } })
  assert.ok(addRes.isSuccess, `batchByChunk failed: ${addRes.getErrorMessages().join('; ')}`)
  const addedIds = addRes.getData().map((r) => Number(r.item.id))
  assert.equal(addedIds.length, TOTAL, 'batchByChunk: not every add returned a result')
  assert.equal(new Set(addedIds).size, TOTAL, 'batchByChunk: duplicate ids')
  const expected = [...addedIds].sort((a, b) => a - b)

  // callList: keyset paging (order id ASC, filter >id, start -1). It stops on
  // the first page shorter than 50, so a wrong page size loses rows silently.
  const all = await b24.actions.v2.callList.make({
    method: 'crm.item.list',
    params: { entityTypeId, select: ['id', 'title'] },
    idKey: 'id',
    customKeyForResult: 'items'
  })
  assert.ok(all.isSuccess, `callList failed: ${all.getErrorMessages().join('; ')}`)
  const listed = ids(all.getData())
  assert.equal(listed.length, TOTAL, 'callList: row count')
  assert.equal(new Set(listed).size, TOTAL, 'callList: duplicate ids')
  assert.deepEqual([...listed].sort((a, b) => a - b), expected, 'callList: ids differ from the added ones')

  // fetchList: the same paging as a generator, one page per iteration.
  const pageSizes = []
  const fetched = []
  for await (const page of b24.actions.v2.fetchList.make({
    method: 'crm.item.list',
    params: { entityTypeId, select: ['id'] },
    idKey: 'id',
    customKeyForResult: 'items'
  })) {
    pageSizes.push(page.length)
    fetched.push(...ids(page))
  }
  assert.deepEqual(pageSizes, [50, 50, 25], 'fetchList: page sizes')
  assert.deepEqual(fetched, expected, 'fetchList: ids not ascending or not all')

  // start=-1 disables counting: a full page of 50 and no `next`.
  const keyset = await call('crm.item.list', { entityTypeId, select: ['id'], order: { id: 'ASC' }, start: -1 })
  assert.equal(keyset.getData().result.items.length, 50, 'start=-1: page size')
  assert.equal(keyset.isMore(), false, 'start=-1: must not send next')

  // Classic offset paging: start=0, then getNext() repeats the call with
  // start=next. `next` must be a JSON number or isMore() is false.
  let res = await call('crm.item.list', { entityTypeId, select: ['id', 'title'], order: { id: 'ASC' }, start: 0 })
  const sizes = []
  const paged = []
  const totals = []
  for (;;) {
    const items = res.getData().result.items
    sizes.push(items.length)
    paged.push(...ids(items))
    totals.push(res.getTotal())
    const next = await res.getNext(http2())
    if (next === false) break
    assert.ok(next.isSuccess, `getNext failed: ${next.getErrorMessages().join('; ')}`)
    assertTime(next.getData().time, 'crm.item.list getNext')
    res = next
    assert.ok(sizes.length < 10, 'classic paging does not terminate')
  }
  assert.deepEqual(sizes, [50, 50, 25], 'classic paging: page sizes')
  assert.deepEqual(totals, [TOTAL, TOTAL, TOTAL], 'classic paging: total on every page')
  assert.deepEqual(paged, expected, 'classic paging: ids')
})

test('batch: object form with halt and $result back-references', async () => {
  const { entityTypeId } = await newType('SDK batch refs')
  // A pre-existing item, so the list below has more than one row and
  // [items][0] must really pick the newest one.
  await result('crm.item.add', { entityTypeId, fields: { title: 'Older item' } })

  const calls = {
    add: ['crm.item.add', { entityTypeId, fields: { title: 'Added in batch' } }],
    get: ['crm.item.get', { entityTypeId, id: '$result[add][item][id]' }],
    upd: ['crm.item.update', { entityTypeId, id: '$result[add][item][id]', fields: { title: 'Renamed in batch' } }],
    list: ['crm.item.list', { entityTypeId, select: ['id', 'title'], order: { id: 'DESC' } }],
    first: ['crm.item.get', { entityTypeId, id: '$result[list][items][0][id]' }]
  }
  const res = await b24.actions.v2.batch.make({ calls, options: { isHaltOnError: true, returnAjaxResult: true } })
  assert.ok(res.isSuccess, `batch failed: ${res.getErrorMessages().join('; ')}`)
  const data = res.getData()
  assert.deepEqual(Object.keys(data).sort(), Object.keys(calls).sort(), 'batch: result keys')
  for (const [key, row] of Object.entries(data)) {
    assert.ok(row instanceof AjaxResult, `batch[${key}] is not an AjaxResult`)
    assert.ok(row.isSuccess, `batch[${key}] failed: ${row.getErrorMessages().join('; ')}`)
    assertOperating(row.getData().time, `batch result_time[${key}]`)
  }
  const r = (key) => data[key].getData().result
  const newId = Number(r('add').item.id)
  assert.ok(Number.isInteger(newId) && newId > 0, 'batch add: id')
  assert.equal(Number(r('get').item.id), newId, '$result[add][item][id] not resolved in get')
  assert.equal(r('get').item.title, 'Added in batch')
  assert.equal(Number(r('upd').item.id), newId, '$result[add][item][id] not resolved in update')
  assert.equal(r('upd').item.title, 'Renamed in batch')
  assert.equal(r('list').items.length, 2, 'batch list: row count')
  assert.equal(Number(r('list').items[0].id), newId, 'batch list: order id DESC')
  assert.equal(data.list.getTotal(), 2, 'batch list: result_total')
  assert.equal(Number(r('first').item.id), newId, '$result[list][items][0][id] not resolved')
  assert.equal(r('first').item.title, 'Renamed in batch')

  // The same through the plain (non-AjaxResult) form the SDK returns by default.
  const plain = await b24.actions.v2.batch.make({
    calls: {
      a: ['crm.item.add', { entityTypeId, fields: { title: 'Plain form' } }],
      b: ['crm.item.get', { entityTypeId, id: '$result[a][item][id]' }]
    },
    options: { isHaltOnError: true }
  })
  assert.ok(plain.isSuccess, `plain batch failed: ${plain.getErrorMessages().join('; ')}`)
  assert.equal(plain.getData().b.item.title, 'Plain form')
  assert.equal(Number(plain.getData().b.item.id), Number(plain.getData().a.item.id))
})

test('batch: halt stops at the failing command (INVALID_ARG_VALUE)', async () => {
  const { entityTypeId } = await newType('SDK batch halt')
  const calls = {
    before: ['crm.item.add', { entityTypeId, fields: { title: 'Before the error' } }],
    bad: ['crm.item.list', { entityTypeId, select: ['id'], filter: { '>ddId': 1 } }],
    after: ['crm.item.add', { entityTypeId, fields: { title: 'Must not be added' } }]
  }
  const res = await b24.actions.v2.batch.make({ calls, options: { isHaltOnError: true, returnAjaxResult: true } })
  assert.equal(res.isSuccess, false, 'batch with a bad command must not succeed')
  assert.deepEqual([...res.errors.keys()], ['bad'], 'exactly one error, for the bad command')
  assert.equal(res.errors.get('bad').code, 'INVALID_ARG_VALUE')

  const data = res.getData()
  assert.ok(data.before?.isSuccess, 'the command before the error must have run')
  assert.equal(data.before.getData().result.item.title, 'Before the error')
  assert.equal(data.bad?.isSuccess, false)
  assert.ok(!('after' in data), 'with halt, the command after the error must not be reported')

  // ...and must not have run at all: only the first add exists.
  const list = await call('crm.item.list', { entityTypeId, select: ['id', 'title'], start: 0 })
  assert.equal(list.getTotal(), 1, 'halt: commands after the error were executed')
  assert.equal(list.getData().result.items[0].title, 'Before the error')
})

test('batch: array form without halt reports the error and runs the rest', async () => {
  const { entityTypeId } = await newType('SDK batch no halt')
  const calls = [
    ['crm.item.add', { entityTypeId, fields: { title: 'Array add' } }],
    ['crm.item.list', { entityTypeId, select: ['id'], filter: { '>ddId': 1 } }],
    ['crm.item.get', { entityTypeId, id: '$result[0][item][id]' }],
    ['crm.item.list', { entityTypeId, select: ['id', 'title'], order: { id: 'ASC' } }]
  ]
  const res = await b24.actions.v2.batch.make({ calls, options: { isHaltOnError: false, returnAjaxResult: true } })
  assert.equal(res.isSuccess, false, 'one sub-error must make the batch unsuccessful')
  assert.deepEqual([...res.errors.keys()], ['1'], 'exactly one error, for command 1')
  assert.equal(res.errors.get('1').code, 'INVALID_ARG_VALUE')

  const data = res.getData()
  assert.ok(Array.isArray(data), 'array form: SDK returns an array')
  assert.equal(data.length, 4, 'array form: every command reported')
  for (const i of [0, 2, 3]) {
    assert.ok(data[i].isSuccess, `command ${i} failed: ${data[i].getErrorMessages().join('; ')}`)
    assertOperating(data[i].getData().time, `batch result_time[${i}]`)
  }
  assert.equal(data[1].isSuccess, false)
  const addedId = Number(data[0].getData().result.item.id)
  assert.equal(Number(data[2].getData().result.item.id), addedId, '$result[0][item][id] not resolved')
  assert.equal(data[2].getData().result.item.title, 'Array add')
  assert.deepEqual(ids(data[3].getData().result.items), [addedId], 'command after the error saw the add')
})

test('batch: more than 50 commands is refused with ERROR_BATCH_LENGTH_EXCEEDED', async () => {
  const { entityTypeId } = await newType('SDK batch size')
  const cmd = (n) => Array.from({ length: n }, () => `crm.item.list?entityTypeId=${entityTypeId}&select%5B0%5D=id`)

  // The SDK refuses 51 commands before sending anything, which is why the
  // server's own check is exercised with a raw request.
  await assert.rejects(
    b24.actions.v2.batch.make({ calls: Array.from({ length: 51 }, () => ['crm.item.list', { entityTypeId }]) }),
    (err) => err?.code === 'JSSDK_BATCH_TOO_LARGE'
  )

  // Exactly 50 is fine.
  const ok = await rawPost('batch', { halt: 0, cmd: cmd(50) })
  assert.equal(ok.status, 200, `50 commands: HTTP ${ok.status} ${JSON.stringify(ok.body).slice(0, 300)}`)
  const okResults = ok.body?.result?.result
  assert.ok(okResults && typeof okResults === 'object', '50 commands: result.result missing')
  assert.equal(Object.keys(okResults).length, 50, '50 commands: result count')

  // 51 is refused as a whole, in the usual error envelope.
  const tooMany = await rawPost('batch', { halt: 0, cmd: cmd(51) })
  assert.equal(tooMany.body?.error, 'ERROR_BATCH_LENGTH_EXCEEDED', `51 commands: body ${JSON.stringify(tooMany.body).slice(0, 300)}`)
  assert.equal(typeof tooMany.body?.error_description, 'string', '51 commands: error_description')
  assert.equal(tooMany.status, 400, '51 commands: HTTP status')
  assert.ok(!('result' in tooMany.body), '51 commands: no command may have run')
})
