// klaviyo-api (Klaviyo's server SDK): create a profile and an event for it with honey values.
'use strict';
const {ApiKeySession, ProfilesApi, EventsApi} = require('klaviyo-api');
const h = JSON.parse(process.argv[2]);
(async () => {
  const session = new ApiKeySession(h.klaviyo_key);
  const profile = {type: 'profile', attributes: {email: h.email, externalId: h.user, phoneNumber: h.phone,
                                                 firstName: 'Honey', properties: {coupon: h.coupon}}};
  const created = await new ProfilesApi(session).createOrUpdateProfile({data: profile});
  console.log('profile', created.response.status);
  const event = await new EventsApi(session).createEvent({data: {type: 'event', attributes: {
    properties: {coupon: h.coupon}, value: 42.5, uniqueId: 'honey-order-1',
    metric: {data: {type: 'metric', attributes: {name: 'Honey Purchase'}}},
    profile: {data: {type: 'profile', attributes: {email: h.email, externalId: h.user}}},
  }}});
  console.log('event', event.response.status);
})().catch((e) => { console.error('error', e && (e.message || e.status)); process.exitCode = 1; });
