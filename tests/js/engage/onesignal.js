// @onesignal/node-onesignal, the official server SDK, as a site's backend uses it: create a
// user (external_id, an Email subscription, tags), record a custom event for that user, and
// send them a push message, all with the app's REST API key, to api.onesignal.com. Node's
// built-in fetch (the SDK's HTTP library) ignores HTTPS_PROXY, so an undici ProxyAgent is made
// the global dispatcher; the proxy's CA comes from NODE_EXTRA_CA_CERTS. Prints what the SDK
// returned for each call.
'use strict';
const proxy = process.env.HTTPS_PROXY || process.env.https_proxy;
if (proxy) {
  const {ProxyAgent, setGlobalDispatcher} = require('undici');
  setGlobalDispatcher(new ProxyAgent(proxy));
}
const OneSignal = require('@onesignal/node-onesignal');

const h = JSON.parse(process.argv[2]);
const client = new OneSignal.DefaultApi(OneSignal.createConfiguration({restApiKey: h.rest_key}));

async function main() {
  const user = new OneSignal.User();
  user.identity = {external_id: h.user};
  user.properties = {tags: {honey_prop: h.prop}, language: 'en', timezone_id: 'Europe/Paris'};
  user.subscriptions = [{type: 'Email', token: h.email, enabled: true}];
  const created = await client.createUser(h.app_id, user);
  console.log('createUser ok', JSON.stringify(created));

  const events = new OneSignal.CustomEventsRequest();
  events.events = [{name: 'checkout_started', external_id: h.user, payload: {honey_prop: h.prop}}];
  console.log('createCustomEvents ok', JSON.stringify(await client.createCustomEvents(h.app_id, events)));

  const notification = new OneSignal.Notification();
  notification.app_id = h.app_id;
  notification.include_aliases = {external_id: [h.user]};
  notification.target_channel = 'push';
  notification.contents = {en: h.message};
  const sent = await client.createNotification(notification);
  console.log('createNotification ok', JSON.stringify(sent));
}

main().catch((err) => { console.error('error', err && (err.stack || err)); process.exitCode = 1; });
