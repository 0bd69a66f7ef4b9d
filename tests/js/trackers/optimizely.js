// @optimizely/optimizely-sdk: a project whose datafile the site embeds (no CDN fetch); track
// a conversion with revenue and a honey tag for a honey user id with a honey attribute, then
// close (flushes the batch to logx).
'use strict';
const opt = require('@optimizely/optimizely-sdk');
const h = JSON.parse(process.argv[2]);
const datafile = JSON.stringify({
  version: '4', accountId: h.optimizely_account, projectId: h.optimizely_project, revision: '7',
  anonymizeIP: true, botFiltering: false, attributes: [{id: '20001', key: 'coupon'}],
  events: [{id: '30001', key: 'honey_purchase', experimentIds: []}], experiments: [], audiences: [],
  typedAudiences: [], groups: [], rollouts: [], featureFlags: [], variables: [],
});
(async () => {
  const client = opt.createInstance({
    projectConfigManager: opt.createPollingProjectConfigManager({sdkKey: h.optimizely_key, datafile,
                                                                 autoUpdate: false}),
    eventProcessor: opt.createBatchEventProcessor({flushInterval: 200}),
  });
  await client.onReady({timeout: 20000});
  console.log('ready');
  const user = client.createUserContext(h.user, {coupon: h.coupon, email: h.email});
  user.trackEvent('honey_purchase', {revenue: 4250, coupon: h.coupon});
  await new Promise((r) => setTimeout(r, 500));
  await client.close();
  console.log('closed');
})().catch((e) => { console.error('error', e && e.message); process.exitCode = 1; });
