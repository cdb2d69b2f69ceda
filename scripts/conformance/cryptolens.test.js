// Conformance test: the official Cryptolens Node client (npm "cryptolens")
// against a running Keyturn. Started by the Go test in shared/app
// (TestNodeClientConformance) with the service URL and fixtures in env vars:
//   KT_URL, KT_TOKEN, KT_BAD_TOKEN, KT_PUBKEY, KT_PRODUCT, KT_TEMPLATE,
//   KT_KEY (limit 1), KT_BLOCKED_KEY, KT_PAYMENT_FORM, KT_METERED_KEY (billed
//   by a Stripe meter of the test's Stripe fake).
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { Key, Helpers, Data } = require('cryptolens');
// The client has no payment form or subscription method; those calls go
// through its own request helper, which every client method uses (form
// post with got, result 1 turned into an Error with the message).
const { CallAPI } = require('cryptolens/internal/HelperMethods.js');

const url = process.env.KT_URL;
const token = process.env.KT_TOKEN;
const pub = process.env.KT_PUBKEY;
const product = Number(process.env.KT_PRODUCT);
const key = process.env.KT_KEY;

test('Activate returns a license signed with the account key', async () => {
  const lic = await Key.Activate(token, pub, product, key, 'machine-a', 0, true, 0, 0, url);
  assert.strictEqual(lic.Key, key);
  assert.strictEqual(lic.ProductId, product);
  assert.ok(lic.ActivatedMachines.some(m => m.Mid === 'machine-a'), 'activating machine listed');
  assert.ok(Helpers.IsOnRightMachineCustom(lic, 'machine-a', false, false));
  assert.strictEqual(typeof lic.RawResponse.metadata, 'object');
  // Offline round trip: save and load with the public key.
  const saved = Helpers.SaveAsString(lic);
  const loaded = Helpers.LoadFromString(pub, saved, 30);
  assert.ok(loaded && loaded.Key === key, 'LoadFromString verifies the saved license');
});

test('Activate refuses a second machine when the limit is reached', async () => {
  await assert.rejects(Key.Activate(token, pub, product, key, 'machine-b', 0, false, 0, 0, url),
    { message: 'Cannot activate the new device as the limit has been reached.' });
});

test('Activate floating with overdraft prefixes the machine code', async () => {
  const lic = await Key.Activate(token, pub, product, process.env.KT_FLOATING_KEY, 'float-1', 0, false, 300, 1, url);
  assert.ok(lic.ActivatedMachines.some(m => m.Mid === 'floating:float-1'));
  assert.ok(Helpers.IsOnRightMachineCustom(lic, 'float-1', true, true));
});

test('Activate of a blocked key fails with the documented message', async () => {
  await assert.rejects(Key.Activate(token, pub, product, process.env.KT_BLOCKED_KEY, 'm', 0, false, 0, 0, url),
    { message: 'The key is blocked and cannot be accessed.' });
});

test('a bad token is refused', async () => {
  await assert.rejects(Key.Activate(process.env.KT_BAD_TOKEN, pub, product, key, 'm', 0, false, 0, 0, url),
    { message: 'Unable to authenticate.' });
});

test('GetKey returns the signed license without activating', async () => {
  const lic = await Key.GetKey(token, pub, product, key, 0, false, url);
  assert.strictEqual(lic.Key, key);
  assert.strictEqual(lic.ActivatedMachines.length, 1);
});

test('Deactivate frees the seat', async () => {
  await Key.Deactivate(token, product, key, 'machine-a', false, null, url);
  const lic = await Key.Activate(token, pub, product, key, 'machine-b', 0, false, 0, 0, url);
  assert.ok(lic.ActivatedMachines.some(m => m.Mid === 'machine-b'));
  await assert.rejects(Key.Deactivate(token, product, key, 'never-seen', false, null, url),
    { message: 'Either the machine code was never activated or key activation feature was never set up.' });
});

test('CreateKey, CreateTrialKey and CreateKeyFromTemplate make usable keys', async () => {
  const created = await Key.CreateKey(token, product, 30, 'from node', false, null, false, 2, null, 0, 1, true, false, false, false, false, false, false, false, false, false, url);
  assert.match(created.key, /^[A-Z]{5}-[A-Z]{5}-[A-Z]{5}-[A-Z]{5}$/);
  const lic = await Key.GetKey(token, pub, product, created.key, 0, false, url);
  assert.strictEqual(lic.Notes, 'from node');
  assert.strictEqual(lic.F1, true);
  assert.strictEqual(lic.MaxNoOfMachines, 2);

  const trial = await Key.CreateTrialKey(token, product, 'trial-machine', url);
  assert.match(trial, /^[A-Z]{5}-[A-Z]{5}-[A-Z]{5}-[A-Z]{5}$/);
  assert.strictEqual(await Key.CreateTrialKey(token, product, 'trial-machine', url), trial);

  const fromTemplate = await Key.CreateKeyFromTemplate(token, Number(process.env.KT_TEMPLATE), url);
  const tl = await Key.GetKey(token, pub, product, fromTemplate, 0, false, url);
  assert.strictEqual(tl.Period, 45);
});

test('ExtendLicense, AddFeature, RemoveFeature and ChangeNotes change the key', async () => {
  const before = await Key.GetKey(token, pub, product, key, 0, false, url);
  await Key.ExtendLicense(token, product, key, 10, url);
  await Key.AddFeature(token, product, key, 5, url);
  await Key.RemoveFeature(token, product, key, 1, url);
  await Key.ChangeNotes(token, product, key, 'changed by node', url);
  const after = await Key.GetKey(token, pub, product, key, 0, false, url);
  assert.ok(after.Expires >= before.Expires + 10 * 86400 || after.Expires >= Math.floor(Date.now() / 1000) + 10 * 86400 - 5);
  assert.strictEqual(after.F5, true);
  assert.strictEqual(after.F1, false);
  assert.strictEqual(after.Notes, 'changed by node');
  // Period becomes the whole days from the call to the new expiry, as the
  // reference service computes it: 30 + 10 - 1 moments after creation.
  assert.strictEqual(before.Period, 30);
  assert.strictEqual(after.Period, 39);
});

test('CreateKey with NewCustomer puts the customer into the signed license', async () => {
  const created = await Key.CreateKey(token, product, 30, '', false, null, false, 0, null, 0, 1, false, false, false, false, false, false, false, false, true, false, url);
  assert.match(created.key, /^[A-Z]{5}-[A-Z]{5}-[A-Z]{5}-[A-Z]{5}$/);
  assert.ok(Number.isInteger(created.customerId) && created.customerId > 0, 'customerId returned');
  const lic = await Key.Activate(token, pub, product, created.key, 'machine-c', 0, false, 0, 0, url);
  assert.ok(lic, 'activation verified by the client');
  assert.strictEqual(lic.Customer.Id, created.customerId);
  // The client sends Notes="" by default: stored and shown as "", not null.
  assert.strictEqual(lic.Notes, '');
  assert.deepStrictEqual(Object.keys(lic.Customer), ['Id', 'Name', 'Email', 'CompanyName', 'Created']);
});

test('AddDataObjectToKey adds a data object that the signed license carries', async () => {
  const created = await Key.CreateKey(token, product, 30, '', false, null, false, 0, null, 0, 1, false, false, false, false, false, false, false, false, false, false, url);
  const features = JSON.stringify(['ModuleA', ['ModuleB', ['Sub']]]);
  const id = await Data.AddDataObjectToKey(token, product, created.key, true, 'cryptolens_features', features, 0, url);
  assert.ok(Number.isInteger(id) && id > 0, 'data object id returned');
  await assert.rejects(Data.AddDataObjectToKey(token, product, created.key, true, 'cryptolens_features', '', 0, url),
    { message: 'Data object with the same name already exists.' });
  const counter = await Data.AddDataObjectToKey(token, product, created.key, false, 'uses', null, 42, url);
  const lic = await Key.Activate(token, pub, product, created.key, 'machine-d', 0, false, 0, 0, url);
  assert.ok(lic, 'activation verified by the client');
  assert.deepStrictEqual(lic.DataObjects, [
    { Id: id, Name: 'cryptolens_features', StringValue: features, IntValue: 0 },
    { Id: counter, Name: 'uses', StringValue: '', IntValue: 42 },
  ]);
  assert.ok(Helpers.HasFeature(lic, 'ModuleA'));
  assert.ok(Helpers.HasFeature(lic, 'ModuleB.Sub'));
  assert.ok(!Helpers.HasFeature(lic, 'ModuleC'));
});

// cryptolens 1.0.11 has no message methods: its own transport (form POST,
// the result/message handling every method uses) drives them as a client
// method would.
const HelperMethods = require('cryptolens/internal/HelperMethods.js');

test('message methods and an unknown method through the client transport', async () => {
  const call = (method, form) => HelperMethods.CallAPI(`${url}/api/message/${method}`, { token, ...form });
  const created = await call('CreateMessage', { Channel: 'stable', Content: 'v401 is now available for download', Time: 1537815312 });
  assert.ok(Number.isInteger(created.messageId) && created.messageId > 0, 'messageId returned');
  const got = await call('GetMessages', { Channel: 'stable', Time: 1537815311 });
  assert.deepStrictEqual(got.messages, [{ id: created.messageId, content: 'v401 is now available for download', created: 1537815312, channel: 'stable' }]);
  assert.deepStrictEqual((await call('GetMessages', { Channel: 'stable', Time: 1537815312 })).messages, []);
  await assert.rejects(call('GetMessages', { Time: '2018-09-24' }),
    { message: 'The timestamp in the Time parameter does not have the correct format.' });
  await call('RemoveMessage', { Id: created.messageId });
  await assert.rejects(call('RemoveMessage', { Id: created.messageId }), { message: 'The input parameters were incorrect.' });
  // An unknown method is an envelope like any other error (HTTP 200).
  await assert.rejects(HelperMethods.CallAPI(`${url}/api/message/NoSuchMethod`, { token }),
    { message: 'The method could not be found.' });
});

test('paymentform/CreateSession through the client returns a single-use session id', async () => {
  const form = Number(process.env.KT_PAYMENT_FORM);
  const res = await CallAPI(`${url}/api/paymentform/CreateSession`,
    { token, PaymentFormId: form, Price: 12.5, Currency: 'USD', Heading: 'Pro', ProductName: null, Expires: 3600 });
  assert.strictEqual(res.result, 0);
  assert.strictEqual(res.message, '');
  const [formId, secret] = JSON.parse(Buffer.from(res.sessionId, 'base64').toString());
  assert.strictEqual(formId, String(form));
  assert.ok(secret.length >= 40, 'session secret');
  await assert.rejects(CallAPI(`${url}/api/paymentform/CreateSession`, { token, PaymentFormId: form, Currency: 'ZZZ', Expires: 60 }),
    { message: 'The currency string is incorrect.' });
  await assert.rejects(CallAPI(`${url}/api/paymentform/CreateSession`, { token, PaymentFormId: 999999, Currency: 'USD', Expires: 60 }),
    { message: 'The payment form does not exist.' });
});

test('subscription/RecordUsage through the client records usage on the key\'s subscription item', async () => {
  const res = await CallAPI(`${url}/api/subscription/RecordUsage`, { token, ProductId: product, Key: process.env.KT_METERED_KEY, Amount: 2 });
  assert.strictEqual(res.result, 0);
  assert.strictEqual(res.message, '');
  await assert.rejects(CallAPI(`${url}/api/subscription/RecordUsage`, { token, ProductId: product, Key: key, Amount: 2 }),
    { message: 'The subscription item id could not be found.' });
});
