// Deck's AngularJS, bootstrap.js and select2 look for a global jQuery when they load, so it
// must be on window before anything imports angular. ES module imports run in order, so
// app.ts imports this module first.
import jquery from 'jquery';

const w = window as any;
w.jQuery = jquery;
w.$ = jquery;
