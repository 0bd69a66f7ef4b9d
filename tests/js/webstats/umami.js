// @umami/node: identify a visitor, then track a custom event with a honey property; both POST
// <hostUrl>/api/send. Umami Cloud's collector is the host.
'use strict';
const {Umami} = require('@umami/node');
const h = JSON.parse(process.argv[2]);
(async () => {
  const umami = new Umami({websiteId: h.umami_site, hostUrl: 'https://gateway.umami.is'});
  await umami.identify({email: h.umami_email, plan: h.umami_prop});
  await umami.track('honey_checkout', {coupon: h.umami_event});
  console.log('sent');
})().catch((e) => { console.error('error', e && e.message); process.exitCode = 1; });
