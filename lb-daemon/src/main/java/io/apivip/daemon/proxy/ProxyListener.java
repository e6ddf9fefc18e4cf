package io.apivip.daemon.proxy;

import io.apivip.daemon.config.Settings;

/** A configured listener and its position, which indexes the per-listener connection counts. */
record ProxyListener(int index, Settings.Listener settings) {}
