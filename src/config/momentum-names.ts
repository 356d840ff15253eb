// The catalogue of real Momentum names that may sit at the top of a shared ecelerity.conf:
// the only names smtpipe ignores with a warning; any other unknown name is an error
// (schema.ts). Data only. Names are lower-cased: config names are case-insensitive.
//
// Source: the Momentum 4 reference manual (SparkPost support-docs, content/momentum/4):
// "Modules Summary" (modules/summary-all-modules.md) and "Configuration Options Summary"
// (config-options-summary.md, rows whose scopes include "global"), plus the logging
// modules event_hydrant and http_logger named in "Logging Overview". Add a name only with
// the page that documents it; never add a name because it looks plausible.

// ReadonlySet: no module adds to these (Object.freeze would not stop Set.add anyway).
function names(list: readonly string[]): ReadonlySet<string> {
  return new Set(list.map((n) => n.toLowerCase()));
}

/** Momentum modules (`module "instance" { }` or `module { }`), from the Modules Summary. */
export const MOMENTUM_MODULES: ReadonlySet<string> = names([
  'ac_auth', 'adaptive', 'alerting', 'alias', 'antivirus', 'apn', 'apn_logger', 'as_logger',
  'auth_ds', 'auth_radius', 'beik', 'bind_address_secondary', 'bounce_classifier_override',
  'bounce_logger', 'brightmail', 'bzip2io', 'chunk_logger', 'cidrdb', 'clamav', 'cloudmark',
  'cluster', 'commtouch_ctasd', 'compress_spool', 'conntrol', 'csapi', 'custom_bounce_logger',
  'custom_logger', 'dane', 'delay_dsn', 'dk_sign', 'dk_validate', 'dkim_sign', 'dkim_validate',
  'dnsbuf', 'ds_core', 'ec_logger', 'eleven', 'event_hydrant', 'exim_logger', 'fbl',
  'fingerprint', 'gcm', 'gcm_logger', 'gzipio', 'http_logger', 'httpsrv', 'icu', 'ilf_logger',
  'inbound_audit', 'ipv6_lookup', 'jlog', 'mail_loop', 'maildir', 'mm7', 'mm7_serv',
  'mms_bounce_logger', 'mms_logger', 'msgc_client', 'msgc_server', 'mxip', 'opendkim',
  'outbound_audit', 'outbound_smtp_auth', 'persist_io', 'pipe_io', 'postfix_logger',
  'reception_timing', 'response_transcode', 'restinjector', 'sched', 'scriptlet', 'securecreds',
  'seedlist', 'senderid', 'sendmail_logger', 'smpp', 'smpp_bounce_logger', 'smpp_logger',
  'smtp_auth_proxy', 'smtp_cbv', 'smtp_rcptto_proxy', 'spf_macros', 'spf_v1', 'suppress_spool',
  'syslog_io', 'tls_macros', 'url_ripper',
]);

/** Core scopes valid in the global scope ("(scope)" rows of the Options Summary). */
export const MOMENTUM_GLOBAL_SCOPES: ReadonlySet<string> = names([
  'adaptive_backstore_leveldb', 'adaptive_backstore_riak', 'adaptive_sweep_rule', 'Authorization',
  'Binding', 'binding_auto_replumb', 'binding_auto_replumb_interval', 'Binding_Group',
  'Control_Listener', 'curfew', 'Debug_Flags', 'Domain', 'ECCluster_Listener', 'ECStream_Listener',
  'EventLoop', 'Host', 'HTTP_Listener', 'Logs', 'MSGCServer_Listener', 'Pathway', 'Pathway_Group',
  'Security', 'SNMP', 'snmp_traps', 'ThreadPool', 'XMPP_Listener',
]);

/** Core options valid in the global scope (Options Summary rows whose scopes include global). */
export const MOMENTUM_GLOBAL_OPTIONS: ReadonlySet<string> = names([
  '_unsafe_spool', 'adaptive_adjustment_interval', 'adaptive_alert_email_destination',
  'adaptive_attempt_threshold', 'adaptive_body_timeout', 'adaptive_default_suspension',
  'adaptive_ehlo_timeout', 'adaptive_enabled', 'adaptive_fbl_volume_threshold',
  'adaptive_idle_timeout', 'adaptive_mailfrom_timeout', 'adaptive_max_deliveries_per_connection',
  'adaptive_max_outbound_connections', 'adaptive_max_recipients_per_batch',
  'adaptive_max_recipients_per_connection', 'adaptive_max_resident_active_queue',
  'adaptive_max_retries', 'adaptive_max_retry_interval', 'adaptive_notification_events',
  'adaptive_notification_interval', 'adaptive_outbound_throttle_messages',
  'adaptive_positive_adjustment_interval', 'adaptive_rcptto_timeout',
  'adaptive_rejection_rate_suspension_percentage', 'adaptive_retry_fuzz', 'adaptive_retry_interval',
  'adaptive_rset_timeout', 'adaptive_scope', 'adaptive_sweep_rule_enabled',
  'address_metrics_cleanse_interval', 'address_metrics_lifetime', 'alias_schemes',
  'allow_ip_literal', 'allow_null_envelope_sender', 'allow_trailing_whitespace_in_commands',
  'apn_expiry', 'async_bounce_rendering', 'bind_address', 'blackhole', 'body_timeout',
  'bounce_behavior', 'bounce_domains', 'bounce_pattern', 'bounce_suppress_list',
  'bounces_inline_original', 'clear_mail_queue_maintainers', 'cluster_max_outbound_connections',
  'cluster_outbound_throttle_connections', 'cluster_outbound_throttle_messages',
  'cluster_scope_max_outbound_connections', 'cluster_server_max_outbound_connections',
  'connect_timeout', 'connect_timeout_to_delay', 'connection_allocation_aggressiveness',
  'control_client_timeout', 'crypto_engine', 'crypto_lock_method',
  'debug_throttle_max_num_same_message', 'debug_throttle_period_secs', 'default_binding',
  'default_charset', 'delay_dsn_max_retry_interval', 'delay_dsn_retry_interval',
  'delayed_binding_domain_fuzz', 'delayed_queue_scan_interval', 'delivery_method', 'delivery_pool',
  'delivery_response_timeout', 'disable_nagle_algorithm', 'disk_queue_drain_rate',
  'dns_cache_purge_interval', 'dns_expire_interval', 'dns_failures_to_purge', 'dns_fallback_to_tcp',
  'dns_max_udp_queries_per_port', 'dns_rate_limit_enabled', 'dns_rate_limit_max_queue',
  'dns_rate_limit_mx_queries', 'dns_rate_limit_period', 'dns_udp_rcvbuf_size', 'dns_udp_sndbuf_size',
  'domain_for_unqualified_recipient_addresses', 'domain_for_unqualified_sender_address',
  'domainkeys', 'drop_body_after_trans_fail', 'ecstream_port', 'ecstream_timeout', 'ehlo_hostname',
  'ehlo_timeout', 'enable_fbl_header_insertion', 'enable_mta_sts', 'exclude_vctx_conn',
  'exclude_vctx_mess', 'expensive_batch_assessment', 'force_fsync', 'fully_resolve_before_smtp',
  'gateway', 'gcm_application_id', 'gcm_authorization_token_id', 'gcm_delay_while_idle',
  'gcm_dry_run', 'gcm_ttl', 'generate_bounces', 'generate_bounces_for_multi_recipient_policy_rejections',
  'generate_delay_dsn', 'growbuf_size', 'host_failure_retry', 'hostname', 'hot_domains',
  'http_basic_auth', 'http_host', 'http_method', 'http_uri', 'http_version', 'idle_timeout',
  'inbound_throttle_messages', 'initial_hash_buckets', 'inline_transfail_processing',
  'keep_message_dicts_in_memory', 'large_message_threshold', 'legacy_message_threshold', 'license',
  'lmtp_port', 'local_changes_file', 'local_changes_only', 'log_hires_timestamp',
  'mail_queue_check_vm_interval', 'mailerdaemon', 'mailfrom_timeout', 'maintainer_pool',
  'malloc2mmap_threshold', 'masterdb_file', 'match_cache_life', 'match_cache_size',
  'max_deliveries_per_connection', 'max_dns_ttl', 'max_outbound_connections',
  'max_receptions_per_connection', 'max_recipients_per_batch', 'max_recipients_per_connection',
  'max_resident_active_queue', 'max_resident_messages', 'max_resident_transfails', 'max_retries',
  'max_retry_interval', 'max_timed_events_per_iter', 'mdn_failures_notify', 'memory_goal',
  'memory_hwm', 'message_expiration', 'migrate_connections_between_sibling_domains',
  'mime_parse_large_messages_during_reception', 'min_dns_ttl', 'mta_sts_dns_cname_max_depth',
  'mta_sts_policy_store', 'mx_failures_fallback_to_a', 'mx_failures_to_delay',
  'never_attempt_expired_messages', 'never_retry', 'only_use_best_mx_for_relay_domains',
  'opendkim_sign', 'outbound_throttle_connections', 'outbound_throttle_messages', 'pcre_cache_size',
  'pcre_cache_ttl', 'permastore_interval', 'pidfile', 'prefer_ipv6_mxs', 'prohibited_hosts',
  'rcptto_timeout', 'relay_domains', 'remote_smtp_port', 'require_ehlo',
  'reserve_maintenance_interval', 'resolv_conf', 'response_transcode_pattern',
  'response_transcode_replace', 'retry_interval', 'rfc2821_allow_whitespace_in_envelope',
  'rfc2821_pedantic_address_rules', 'rfc2822_date_header', 'rfc2822_lone_lf_in_body',
  'rfc2822_lone_lf_in_headers', 'rfc2822_max_line_length', 'rfc2822_max_line_length_policy',
  'rfc2822_messageid_header', 'rfc2822_missing_headers', 'rfc2822_trace_headers', 'routes',
  'rset_timeout', 'scheduler', 'scope_max_outbound_connections', 'send_8bitmime',
  'server_max_file_descriptors', 'server_max_outbound_connections',
  'server_reserve_outbound_connections', 'signing_stats', 'siv_throttle_cache_size', 'skip_hosts',
  'soft_bounce_drain_rate', 'spool_mode', 'spoolbase', 'ssl_lock_method', 'suspend_delivery',
  'swap_out_meta_after_each_tempfail', 'tcp_buffer_size', 'timestampformat', 'tls', 'tls_ca',
  'tls_certificate', 'tls_ciphers', 'tls_client_ca', 'tls_dhparams_file', 'tls_ec_curve_names',
  'tls_enable_dhe_ciphers', 'tls_engine', 'tls_ifavailable_fallback', 'tls_key', 'tls_protocols',
  'tls_verify', 'tlsa_expire_interval', 'tlsv13_ciphersuites', 'trace_smtp_mode',
  'transfail_drain_rate', 'transform_8bitmime_content', 'unlink_on_spool_in_failure',
  'use_iflist_cache', 'use_ipv6', 'use_mmap', 'use_mta_sts', 'use_sendfile', 'xclient',
]);

/** A stanza a shared ecelerity.conf may hold at top level: a module or a global core scope. */
export function isMomentumStanza(key: string): boolean {
  const lower = key.toLowerCase();
  return MOMENTUM_MODULES.has(lower) || MOMENTUM_GLOBAL_SCOPES.has(lower);
}

/** A Momentum core option valid in the global scope. */
export function isMomentumGlobalOption(key: string): boolean {
  return MOMENTUM_GLOBAL_OPTIONS.has(key.toLowerCase());
}
