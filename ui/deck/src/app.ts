// Entry point of Gennaker's Deck: Spinnaker's own UI modules plus our local provider.
// Import order matters: jQuery must be global before angular loads, and
// window.spinnakerSettings must exist before @spinnaker/core reads it at import time.
import './jquery-global';
import './jquery-ui-sortable';
import './settings';

import { bootstrap, module } from 'angular';
import { CORE_MODULE } from '@spinnaker/core';
// Deck's canary screens (canary configs, reports, the kayentaCanary stage); an empty module
// unless settings.canary.featureDisabled is false (gate's canaryEnabled).
import { KAYENTA_MODULE } from '@spinnaker/kayenta';

import { LOCAL_MODULE } from './local';

const APP_MODULE = 'netflix.spinnaker';
module(APP_MODULE, [CORE_MODULE, LOCAL_MODULE, KAYENTA_MODULE]);

// Deck runs with strict dependency injection; bootstrapping by hand (not ng-app) lets the
// script load at the end of <body> and fail loudly when an injectable lacks annotations.
function start(): void {
  bootstrap(document.documentElement, [APP_MODULE], { strictDi: true });
}
if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', start);
} else {
  start();
}
