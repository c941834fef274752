// Implementation of services/igor/polling.h (placeholder).
