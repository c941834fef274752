// Deck module for Gennaker's local provider (placeholder until the module lands).
import { module } from 'angular';

export const LOCAL_MODULE = 'gennaker.local';
module(LOCAL_MODULE, []);
