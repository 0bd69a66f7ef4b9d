// Sends one Conversions API event with the official facebook-nodejs-business-sdk, through
// whatever HTTPS_PROXY the environment names (axios reads it). Honey values come as argv.
'use strict';
const bizSdk = require('facebook-nodejs-business-sdk');
const [token, pixel, email, phone, userId, ip, fbp, fbc, url] = process.argv.slice(2);
const {FacebookAdsApi, EventRequest, UserData, ServerEvent, CustomData} = bizSdk;
FacebookAdsApi.init(token);
const userData = (new UserData()).setEmails([email]).setPhones([phone]).setExternalId(userId)
  .setClientIpAddress(ip).setClientUserAgent('Mozilla/5.0 (X11; Linux x86_64) leakmap-e2e')
  .setFbp(fbp).setFbc(fbc);
const customData = (new CustomData()).setCurrency('eur').setValue(19.99);
const event = (new ServerEvent()).setEventName('Purchase').setEventTime(1767225600)
  .setUserData(userData).setCustomData(customData).setEventSourceUrl(url).setActionSource('website');
(new EventRequest(token, pixel)).setEvents([event]).execute().then(
  (response) => { console.log('sent ' + JSON.stringify(response)); },
  (error) => { console.error('failed', error && error.message); process.exit(1); });
