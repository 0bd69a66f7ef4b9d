// @vercel/analytics/server: `track` a custom event for a visitor's request, as a server route
// on a Vercel deployment (VERCEL_URL) does; the visitor's User-Agent, IP and cookies travel on.
'use strict';
const h = JSON.parse(process.argv[2]);
process.env.VERCEL_URL = h.vercel_host;
const {track} = require('@vercel/analytics/server');
(async () => {
  await track('honey_signup', {plan: h.vercel_prop}, {
    headers: {'user-agent': h.vercel_ua, 'x-forwarded-for': h.vercel_ip, referer: h.vercel_page, cookie: 'session=' + h.vercel_cookie},
  });
  console.log('sent');
})().catch((e) => { console.error('error', e && e.message); process.exitCode = 1; });
