-- Settings of this emulator instance, filled once by emulator.init() from
-- <prefix>/emulator_config.lua (written by spec/support/emulator.lua):
-- api_key, port, redirect_port, tls_port, wrong_tls_port, and prefix.
return {}
