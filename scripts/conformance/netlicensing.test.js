// Conformance test: the official NetLicensing JavaScript client (npm
// "netlicensing-client") against a running Keyturn's licensee API. Started
// by the Go test in shared/app (TestNetLicensingClientConformance) with the
// service URL and fixtures in env vars:
//   KT_URL, KT_TOKEN (every permission and role), KT_LICENSEE_TOKEN
//   (ROLE_APIKEY_LICENSEE only), KT_BAD_TOKEN, KT_PRODUCT.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const NL = require('netlicensing-client');

const url = process.env.KT_URL;
const product = process.env.KT_PRODUCT;
const basic = token => 'Basic ' + Buffer.from('apiKey:' + token).toString('base64');

function context(token) {
  return new NL.Context()
    .setBaseUrl(url + '/core/v2/rest')
    .setSecurityMode(NL.Constants.APIKEY_IDENTIFICATION)
    .setApiKey(token);
}
const admin = context(process.env.KT_TOKEN);
const validateOnly = context(process.env.KT_LICENSEE_TOKEN);

// webAPI calls a Web API 3 method (the same data, the other API).
async function webAPI(method, params) {
  const body = new URLSearchParams({ token: process.env.KT_TOKEN, ...params });
  const res = await fetch(url + '/api/' + method, { method: 'POST', body });
  const json = await res.json();
  assert.strictEqual(json.result, 0, method + ': ' + json.message);
  return json;
}

async function validity(ctx, number, params) {
  const results = await NL.LicenseeService.validate(ctx, number, params || new NL.ValidationParameters());
  assert.ok(results.getTtl() instanceof Date && results.getTtl() > new Date(), 'ttl is a future timestamp');
  return results.getProductModuleValidation('M' + product);
}

test('create, get, list and update licensees', async () => {
  const created = await NL.LicenseeService.create(admin, product, new NL.Licensee().setNumber('NL-1').setName('Ada').setActive(true));
  assert.strictEqual(created.getNumber(), 'NL-1');
  assert.strictEqual(created.getName(), 'Ada');
  assert.strictEqual(created.getActive(), true);
  assert.strictEqual(created.getProductNumber(), product);
  assert.strictEqual(created.getInUse(), false);

  const generated = await NL.LicenseeService.create(admin, product, new NL.Licensee().setName('Generated'));
  assert.match(generated.getNumber(), /^I[A-Z2-9]{9}$/);

  const got = await NL.LicenseeService.get(admin, 'NL-1');
  assert.strictEqual(got.getName(), 'Ada');

  const page = await NL.LicenseeService.list(admin, { page: 0, items: 1 });
  assert.strictEqual(page.length, 1);
  assert.strictEqual(page.getTotalItems(), 2);
  assert.strictEqual(page.getTotalPages(), 2);
  assert.strictEqual(page.hasNext(), true);
  const second = await NL.LicenseeService.list(admin, 'page=1;items=1');
  assert.strictEqual(second.hasNext(), false);
  assert.notStrictEqual(second[0].getNumber(), page[0].getNumber());

  got.setName('Ada Lovelace');
  got.setProperty('plan', 'gold');
  const updated = await NL.LicenseeService.update(admin, 'NL-1', got);
  assert.strictEqual(updated.getName(), 'Ada Lovelace');
  assert.strictEqual(updated.getProperty('plan'), 'gold');
  // The name is the customer's: Web API 3 shows it.
  const customers = await webAPI('customer/GetCustomers', { Search: 'Ada Lovelace' });
  assert.strictEqual(customers.customers.length, 1);
  assert.strictEqual(String(customers.customers[0].id), updated.getProperty('keyturnCustomerId'));
});

test('validate follows the keys Web API 3 gives the licensee', async () => {
  const before = await validity(admin, 'NL-1');
  assert.strictEqual(before.valid, 'false');
  assert.strictEqual(before.licensingModel, 'Subscription');
  const l = await NL.LicenseeService.get(admin, 'NL-1');
  const key = await webAPI('key/CreateKey', { ProductId: product, Period: '30', F1: 'true', CustomerId: l.getProperty('keyturnCustomerId') });
  const after = await validity(validateOnly, 'NL-1', new NL.ValidationParameters().setProductNumber(product));
  assert.strictEqual(after.valid, 'true');
  assert.ok(new Date(after.expires) > new Date(), 'expires is the key expiry');
  const features = (await NL.LicenseeService.validate(admin, 'NL-1', new NL.ValidationParameters()))
    .getProductModuleValidation('M' + product + 'F');
  assert.strictEqual(features.F1[0].valid, 'true');
  assert.strictEqual(features.F2[0].valid, 'false');
  assert.strictEqual((await NL.LicenseeService.get(admin, 'NL-1')).getInUse(), true);
  await webAPI('key/BlockKey', { ProductId: product, Key: key.key });
  assert.strictEqual((await validity(admin, 'NL-1')).valid, 'false');
  await webAPI('key/UnblockKey', { ProductId: product, Key: key.key });
  assert.strictEqual((await validity(admin, 'NL-1')).valid, 'true');
});

test('the deprecated GET validate answers with a warning', async () => {
  const res = await fetch(url + '/core/v2/rest/licensee/NL-1/validate', { headers: { Authorization: basic(process.env.KT_TOKEN), Accept: 'application/json' } });
  assert.strictEqual(res.status, 200);
  const doc = await res.json();
  assert.strictEqual(doc.infos.info[0].type, 'WARNING');
  assert.strictEqual(doc.items.item[0].type, 'ProductModuleValidation');
  const xml = await fetch(url + '/core/v2/rest/licensee/NL-1', { headers: { Authorization: basic(process.env.KT_TOKEN), Accept: 'application/xml' } });
  assert.match(await xml.text(), /^<\?xml [^>]*\?>\n<netlicensing xmlns="http:\/\/netlicensing.labs64.com\/schema\/context">.*<property name="number">NL-1<\/property>/s);
});

test('transfer moves the licenses of a source licensee marked for transfer to the target', async () => {
  await NL.LicenseeService.create(admin, product, new NL.Licensee().setNumber('NL-2').setName('Target'));
  await NL.LicenseeService.create(admin, product, new NL.Licensee().setNumber('NL-3').setName('Unmarked'));
  await assert.rejects(NL.LicenseeService.transfer(admin, 'NL-2', 'NL-1'), { message: 'Source licensee must be marked for transfer' });
  const source = await NL.LicenseeService.get(admin, 'NL-1');
  source.setMarkedForTransfer(true);
  assert.strictEqual((await NL.LicenseeService.update(admin, 'NL-1', source)).getMarkedForTransfer(), true);
  await NL.LicenseeService.transfer(validateOnly, 'NL-2', 'NL-1');
  assert.strictEqual(NL.Service.getLastHttpRequestInfo().status, 204);
  assert.strictEqual((await validity(admin, 'NL-1')).valid, 'false');
  assert.strictEqual((await validity(admin, 'NL-2')).valid, 'true');
});

test('delete refuses a licensee with licenses unless forceCascade', async () => {
  await assert.rejects(NL.LicenseeService.delete(admin, 'NL-2', false), { message: 'Licensee has licenses: delete it with forceCascade=true to delete them too' });
  await NL.LicenseeService.delete(admin, 'NL-2', true);
  await NL.LicenseeService.delete(admin, 'NL-3', false);
  await assert.rejects(NL.LicenseeService.get(admin, 'NL-2'), { message: 'Requested licensee does not exist' });
});

test('roles, credentials and bad input get NetLicensing errors', async () => {
  await assert.rejects(NL.LicenseeService.create(validateOnly, product, new NL.Licensee()), { message: 'Access is denied' });
  await assert.rejects(NL.LicenseeService.get(validateOnly, 'NL-1'), { message: 'Access is denied' });
  await assert.rejects(NL.LicenseeService.get(context(process.env.KT_BAD_TOKEN), 'NL-1'), err => err.response.status === 401);
  await assert.rejects(NL.LicenseeService.validate(admin, 'no-such-licensee', new NL.ValidationParameters()),
    err => err.response.status === 404 && err.message === 'Requested licensee does not exist');
  await assert.rejects(NL.LicenseeService.create(admin, 'not-a-product', new NL.Licensee()), { message: 'Requested product does not exist' });
  await assert.rejects(NL.LicenseeService.create(admin, product, new NL.Licensee().setNumber('NL-1')), { message: 'Licensee with this number already exists' });
});
