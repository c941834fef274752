// Pieces every local details pane shares: the close button (back to the parent state) and the
// panel shown while the resource loads or when it is gone.
import React from 'react';

import { ReactInjector } from '@spinnaker/core';

export function CloseButton() {
  return (
    <div className="close-button">
      <a className="btn btn-link" onClick={() => ReactInjector.$state.go('^')}>
        <span className="glyphicon glyphicon-remove" />
      </a>
    </div>
  );
}

export function PaneMessage({ children }: { children: React.ReactNode }) {
  return (
    <div className="details-panel">
      <div className="header">
        <CloseButton />
        <h4>{children}</h4>
      </div>
    </div>
  );
}
