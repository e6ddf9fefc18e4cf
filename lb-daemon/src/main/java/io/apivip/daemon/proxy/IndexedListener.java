package io.apivip.daemon.proxy;

import io.apivip.daemon.config.Settings;

/**
 * A configured listener with its position among them, which indexes the per-listener connection
 * counts. A value, not a callback.
 */
record IndexedListener(int index, Settings.Listener settings) {}
