// vwo-fme-node-sdk: init (downloads the account settings), then set a user's attributes with
// the end user's User-Agent and IP, which the SDK reports to /events/t (vwo_syncVisitorProp).
'use strict';
const {init} = require('vwo-fme-node-sdk');
const h = JSON.parse(process.argv[2]);
(async () => {
  const client = await init({accountId: h.vwo_account, sdkKey: h.vwo_key, shouldWaitForTrackingCalls: true,
                             logger: {level: 'ERROR'}});
  const context = {id: h.vwo_user, userAgent: h.vwo_ua, ipAddress: h.vwo_ip};
  await client.setAttribute({plan: h.vwo_prop, email: h.vwo_email}, context);
  console.log('sent');
  process.exit(0);  // the SDK keeps polling timers alive; every call above was awaited
})().catch((e) => { console.error('error', e && e.message); process.exitCode = 1; });
