// A site's Prebid.js build: the core plus the bid adapters and user-id modules whose
// requests tests/e2e/test_browser_adtech.py checks. esbuild bundles this into one IIFE at
// test time, as a publisher's build does (Prebid's npm package ships ES modules).
import pbjs from "prebid.js";
import "prebid.js/modules/appnexusBidAdapter.js";
import "prebid.js/modules/rubiconBidAdapter.js";
import "prebid.js/modules/pubmaticBidAdapter.js";
import "prebid.js/modules/openxBidAdapter.js";
import "prebid.js/modules/ixBidAdapter.js";
import "prebid.js/modules/smartadserverBidAdapter.js";
import "prebid.js/modules/equativBidAdapter.js";
import "prebid.js/modules/adfBidAdapter.js";
import "prebid.js/modules/medianetBidAdapter.js";
import "prebid.js/modules/ttdBidAdapter.js";
import "prebid.js/modules/taboolaBidAdapter.js";
import "prebid.js/modules/criteoBidAdapter.js";
import "prebid.js/modules/outbrainBidAdapter.js";
import "prebid.js/modules/userId.js";
import "prebid.js/modules/pubProvidedIdSystem.js";
import "prebid.js/modules/id5IdSystem.js";
import "prebid.js/modules/consentManagementTcf.js";

pbjs.processQueue();
