// @hubspot/api-client: create a CRM contact and send a custom behavioral event for it.
'use strict';
const hubspot = require('@hubspot/api-client');
const h = JSON.parse(process.argv[2]);
(async () => {
  const client = new hubspot.Client({accessToken: h.hubspot_token, numberOfApiCallRetries: 0});
  const contact = await client.crm.contacts.basicApi.create({properties: {
    email: h.email, firstname: 'Honey', lastname: 'Tester', phone: h.phone, coupon: h.coupon}, associations: []});
  console.log('contact', contact.id);
  await client.events.send.basicApi.send({eventName: 'pe12345_honey_purchase', email: h.email,
                                          properties: {coupon: h.coupon}});
  console.log('event ok');
})().catch((e) => { console.error('error', e && (e.message || e.code)); process.exitCode = 1; });
