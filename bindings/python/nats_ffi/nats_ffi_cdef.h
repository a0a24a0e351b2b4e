enum { NATS_MAX_QUEUE_CAPACITY = (1 << 24) };
enum { NATS_MAX_CONTROL_LINE = 4096 };
enum { NATS_DELIVERY_POOL_DEFAULT_SIZE = 4 };
enum { NATS_DELIVERY_POOL_MAX_SIZE = 1024 };
enum { NATS_RUNTIME_MAX_THREADS = 256 };
enum { NATS_NKEY_SIGNATURE_LEN = 64 };
enum { NATS_DEFAULT_PENDING_MSGS = 65536 };
enum { NATS_DEFAULT_PENDING_BYTES = ((64 * 1024) * 1024) };
enum { NATS_FFI_VERSION_MAJOR = 0 };
enum { NATS_FFI_VERSION_MINOR = 1 };
enum { NATS_FFI_VERSION_PATCH = 0 };
enum nats_status
 {
  NATS_OK = 0,
  NATS_ERR_NULL_ARGUMENT = 1,
  NATS_ERR_INVALID_UTF8 = 2,
  NATS_ERR_INVALID_ARGUMENT = 3,
  NATS_ERR_INVALID_SUBJECT = 4,
  NATS_ERR_TIMEOUT = 5,
  NATS_ERR_NO_RESPONDERS = 6,
  NATS_ERR_CONNECTION_CLOSED = 7,
  NATS_ERR_CONNECTION_FAILED = 8,
  NATS_ERR_AUTH = 9,
  NATS_ERR_TLS = 10,
  NATS_ERR_SLOW_CONSUMER = 11,
  NATS_ERR_WOULD_BLOCK_RUNTIME = 12,
  NATS_ERR_PANIC = 13,
  NATS_ERR_IO = 14,
  NATS_ERR_NO_REPLY_SUBJECT = 15,
  NATS_ERR_MAX_PAYLOAD = 16,
  NATS_ERR_INVALID_SUBSCRIPTION = 17,
  NATS_ERR_INTERNAL = 18,
  NATS_ERR_NOT_FOUND = 19,
  NATS_ERR_BUFFER_FULL = 20,
  NATS_ERR_PERMISSION = 21,
  NATS_ERR_JETSTREAM = 22,
  NATS_ERR_EXPECTATION_FAILED = 23,
  NATS_ERR_JETSTREAM_UNAVAILABLE = 24,
  NATS_ERR_DISCONNECTED = 25,
};
typedef int32_t nats_status;
enum nats_conn_status
 {
  NATS_CONN_STATUS_CONNECTING = 0,
  NATS_CONN_STATUS_CONNECTED = 1,
  NATS_CONN_STATUS_RECONNECTING = 2,
  NATS_CONN_STATUS_DRAINING = 3,
  NATS_CONN_STATUS_CLOSED = 4,
};
typedef int32_t nats_conn_status;
enum nats_kv_op
 {
  NATS_KV_PUT = 0,
  NATS_KV_DELETE = 1,
  NATS_KV_PURGE = 2,
};
typedef int32_t nats_kv_op;
enum nats_kv_watch_flags
 {
  NATS_KV_WATCH_DEFAULT = 0,
  NATS_KV_WATCH_UPDATES_ONLY = 1,
  NATS_KV_WATCH_INCLUDE_HISTORY = 2,
  NATS_KV_WATCH_IGNORE_DELETES = 4,
  NATS_KV_WATCH_META_ONLY = 8,
};
typedef uint32_t nats_kv_watch_flags;
enum nats_deliver_policy
 {
  NATS_DELIVER_ALL = 0,
  NATS_DELIVER_LAST = 1,
  NATS_DELIVER_NEW = 2,
  NATS_DELIVER_BY_START_SEQUENCE = 3,
  NATS_DELIVER_BY_START_TIME = 4,
  NATS_DELIVER_LAST_PER_SUBJECT = 5,
};
typedef int32_t nats_deliver_policy;
enum nats_ack_policy
 {
  NATS_ACK_EXPLICIT = 0,
  NATS_ACK_NONE = 1,
  NATS_ACK_ALL = 2,
};
typedef int32_t nats_ack_policy;
enum nats_replay_policy
 {
  NATS_REPLAY_INSTANT = 0,
  NATS_REPLAY_ORIGINAL = 1,
};
typedef int32_t nats_replay_policy;
enum nats_retention
 {
  NATS_RETENTION_LIMITS = 0,
  NATS_RETENTION_INTEREST = 1,
  NATS_RETENTION_WORKQUEUE = 2,
};
typedef int32_t nats_retention;
enum nats_storage
 {
  NATS_STORAGE_FILE = 0,
  NATS_STORAGE_MEMORY = 1,
};
typedef int32_t nats_storage;
enum nats_discard
 {
  NATS_DISCARD_OLD = 0,
  NATS_DISCARD_NEW = 1,
};
typedef int32_t nats_discard;
typedef struct nats_connection nats_connection;
typedef struct nats_consumer_info nats_consumer_info;
typedef struct nats_dispatcher nats_dispatcher;
typedef struct nats_jetstream nats_jetstream;
typedef struct nats_jetstream_options nats_jetstream_options;
typedef struct nats_kv nats_kv;
typedef struct nats_kv_entry nats_kv_entry;
typedef struct nats_kv_watcher nats_kv_watcher;
typedef struct nats_msg nats_msg;
typedef struct nats_object_store nats_object_store;
typedef struct nats_object_watcher nats_object_watcher;
typedef struct nats_options nats_options;
typedef struct nats_pub_ack nats_pub_ack;
typedef struct nats_pull_consumer nats_pull_consumer;
typedef struct nats_server_info nats_server_info;
typedef struct nats_service nats_service;
typedef struct nats_service_group nats_service_group;
typedef struct nats_service_request nats_service_request;
typedef struct nats_stream_info nats_stream_info;
typedef struct nats_subscription nats_subscription;
typedef struct nats_account_limits {
  int64_t max_memory;
  int64_t max_storage;
  int64_t max_streams;
  int64_t max_consumers;
  int64_t max_ack_pending;
  int64_t memory_max_stream_bytes;
  int64_t storage_max_stream_bytes;
  bool max_bytes_required;
} nats_account_limits;
typedef struct nats_account_tier {
  const char *name;
  uint64_t memory;
  uint64_t storage;
  uint64_t reserved_memory;
  uint64_t reserved_storage;
  uint64_t streams;
  uint64_t consumers;
  struct nats_account_limits limits;
} nats_account_tier;
typedef struct nats_account_info {
  uint64_t memory;
  uint64_t storage;
  uint64_t reserved_memory;
  uint64_t reserved_storage;
  uint64_t streams;
  uint64_t consumers;
  const char *domain;
  struct nats_account_limits limits;
  uint64_t api_requests;
  uint64_t api_errors;
  const struct nats_account_tier *tiers;
  size_t tiers_count;
} nats_account_info;
typedef void (*nats_reply_callback)(void *user_data, nats_status status, const struct nats_msg *reply);
typedef struct nats_statistics {
  uint64_t in_msgs;
  uint64_t in_bytes;
  uint64_t out_msgs;
  uint64_t out_bytes;
  uint64_t reconnects;
} nats_statistics;
typedef struct nats_consumer_config {
  const char *durable_name;
  const char *name;
  const char *description;
  const char *deliver_subject;
  const char *deliver_group;
  int32_t deliver_policy;
  uint64_t opt_start_seq;
  int64_t opt_start_time_ms;
  int32_t ack_policy;
  uint64_t ack_wait_ms;
  int64_t max_deliver;
  const char *filter_subject;
  int32_t replay_policy;
  int64_t max_ack_pending;
  int64_t max_waiting;
  bool headers_only;
  bool flow_control;
  uint64_t idle_heartbeat_ms;
  uint64_t inactive_threshold_ms;
  uint32_t replicas;
  bool memory_storage;
  const uint64_t *backoff_ms;
  size_t backoff_count;
  const char *const *filter_subjects;
  size_t filter_subjects_count;
  uint64_t rate_limit_bps;
  int64_t max_batch;
  uint64_t max_expires_ms;
  int64_t max_bytes;
  int64_t pause_until_ns;
  const char *const *metadata_keys;
  const char *const *metadata_values;
  size_t metadata_count;
} nats_consumer_config;
typedef struct nats_fetch_options {
  size_t batch;
  size_t max_bytes;
  uint64_t timeout_ms;
  uint64_t heartbeat_ms;
  bool no_wait;
} nats_fetch_options;
typedef void (*nats_msg_callback)(void *user_data, struct nats_subscription *sub, const struct nats_msg *msg);
typedef void (*nats_user_data_free)(void *user_data);
typedef struct nats_js_subscribe_options {
  const char *stream;
  const char *durable;
  const char *queue;
  bool manual_ack;
  const struct nats_consumer_config *config;
} nats_js_subscribe_options;
typedef struct nats_js_publish_options {
  const char *msg_id;
  const char *expected_stream;
  const char *expected_last_msg_id;
  uint64_t expected_last_sequence;
  bool has_expected_last_sequence;
  uint64_t expected_last_subject_sequence;
  bool has_expected_last_subject_sequence;
  uint64_t timeout_ms;
  uint32_t max_retries;
  uint64_t retry_wait_ms;
} nats_js_publish_options;
typedef void (*nats_pub_ack_callback)(void *user_data, nats_status status, const struct nats_pub_ack *ack);
typedef struct nats_kv_config {
  const char *bucket;
  const char *description;
  int64_t history;
  uint64_t ttl_ms;
  int32_t max_value_size;
  int64_t max_bytes;
  int32_t storage;
  uint32_t replicas;
  uint64_t limit_marker_ttl_ms;
} nats_kv_config;
typedef struct nats_kv_bucket_status {
  const char *bucket;
  const char *stream;
  uint64_t values;
  uint64_t bytes;
  int64_t history;
  uint64_t ttl_ms;
  uint32_t replicas;
  bool compressed;
  int32_t storage;
} nats_kv_bucket_status;
typedef void (*nats_kv_watch_callback)(void *user_data, const struct nats_kv_entry *entry);
typedef struct nats_js_msg_metadata {
  const char *stream;
  const char *consumer;
  const char *domain;
  uint64_t stream_seq;
  uint64_t consumer_seq;
  uint64_t num_delivered;
  uint64_t num_pending;
  int64_t timestamp_ns;
} nats_js_msg_metadata;
typedef struct nats_object_store_config {
  const char *bucket;
  const char *description;
  uint64_t ttl_ms;
  int64_t max_bytes;
  int32_t storage;
  uint32_t replicas;
  bool compression;
  const char *const *metadata_keys;
  const char *const *metadata_values;
  size_t metadata_count;
} nats_object_store_config;
typedef struct nats_object_info {
  const char *name;
  const char *description;
  const char *bucket;
  const char *nuid;
  const char *digest;
  uint64_t size;
  uint64_t chunks;
  int64_t modified_ns;
  bool deleted;
  const char *const *metadata_keys;
  const char *const *metadata_values;
  size_t metadata_count;
  const char *link_bucket;
  const char *link_name;
} nats_object_info;
typedef struct nats_object_meta {
  const char *name;
  const char *description;
  size_t chunk_size;
  const char *const *metadata_keys;
  const char *const *metadata_values;
  size_t metadata_count;
} nats_object_meta;
typedef int64_t (*nats_object_read_callback)(void *user_data, void *buf, size_t cap);
typedef int (*nats_object_write_callback)(void *user_data, const void *data, size_t len);
typedef struct nats_object_store_state {
  const char *bucket;
  uint64_t size;
  uint64_t ttl_ms;
  int32_t storage;
  uint32_t replicas;
  bool sealed;
  bool compressed;
} nats_object_store_state;
typedef void (*nats_object_watch_callback)(void *user_data, const struct nats_object_info *info);
typedef nats_status (*nats_sign_callback)(void *user_data, const uint8_t *nonce, size_t nonce_len, uint8_t *sig);
typedef const char *(*nats_token_callback)(void *user_data);
typedef void (*nats_connection_callback)(void *user_data, struct nats_connection *conn);
typedef void (*nats_error_callback)(void *user_data, struct nats_connection *conn, struct nats_subscription *sub, nats_status status, const char *text);
typedef uint64_t (*nats_reconnect_delay_callback)(void *user_data, uint32_t attempts);
typedef struct nats_endpoint_statistics {
  const char *name;
  const char *subject;
  const char *queue_group;
  uint64_t requests;
  uint64_t errors;
  uint64_t processing_time_ns;
  uint64_t average_processing_time_ns;
  const char *last_error;
  const char *data;
} nats_endpoint_statistics;
typedef const char *(*nats_service_stats_data_cb)(void *user_data, const struct nats_endpoint_statistics *endpoint);
typedef struct nats_service_config {
  const char *name;
  const char *version;
  const char *description;
  const char *const *metadata_keys;
  const char *const *metadata_values;
  size_t metadata_count;
  const char *queue_group;
  nats_service_stats_data_cb stats_data;
  void *stats_data_user_data;
} nats_service_config;
typedef struct nats_service_endpoint_config {
  const char *name;
  const char *subject;
  const char *queue_group;
  const char *const *metadata_keys;
  const char *const *metadata_values;
  size_t metadata_count;
} nats_service_endpoint_config;
typedef void (*nats_service_handler)(void *user_data, struct nats_service_request *req);
typedef struct nats_service_statistics {
  const char *name;
  const char *id;
  const char *version;
  int64_t started_ns;
  const struct nats_endpoint_statistics *endpoints;
  size_t endpoints_count;
} nats_service_statistics;
typedef struct nats_subject_transform {
  const char *source;
  const char *destination;
} nats_subject_transform;
typedef struct nats_stream_source {
  const char *name;
  uint64_t opt_start_seq;
  int64_t opt_start_time_ns;
  const char *filter_subject;
  const struct nats_subject_transform *subject_transforms;
  size_t subject_transforms_count;
  const char *external_api_prefix;
  const char *external_deliver_prefix;
  const char *domain;
} nats_stream_source;
typedef struct nats_republish {
  const char *source;
  const char *destination;
  bool headers_only;
} nats_republish;
typedef struct nats_stream_config {
  const char *name;
  const char *const *subjects;
  size_t subjects_count;
  int32_t retention;
  int32_t storage;
  uint32_t replicas;
  int64_t max_msgs;
  int64_t max_bytes;
  int64_t max_msgs_per_subject;
  int32_t max_msg_size;
  uint64_t max_age_ms;
  int32_t discard;
  uint64_t duplicate_window_ms;
  const char *description;
  int32_t max_consumers;
  bool discard_new_per_subject;
  bool no_ack;
  const struct nats_subject_transform *subject_transform;
  const struct nats_stream_source *mirror;
  const struct nats_stream_source *sources;
  size_t sources_count;
  const char *placement_cluster;
  const char *const *placement_tags;
  size_t placement_tags_count;
  const struct nats_republish *republish;
  bool allow_direct;
  bool mirror_direct;
  bool allow_rollup_hdrs;
  bool deny_delete;
  bool deny_purge;
  bool sealed;
  int32_t compression;
  uint64_t first_seq;
  const char *const *metadata_keys;
  const char *const *metadata_values;
  size_t metadata_count;
  uint64_t consumer_inactive_threshold_ms;
  int64_t consumer_max_ack_pending;
  bool allow_msg_ttl;
  uint64_t subject_delete_marker_ttl_ms;
} nats_stream_config;
typedef struct nats_stream_state {
  uint64_t messages;
  uint64_t bytes;
  uint64_t first_seq;
  int64_t first_time_ns;
  uint64_t last_seq;
  int64_t last_time_ns;
  uint64_t num_subjects;
  uint64_t num_deleted;
  uint64_t consumers;
} nats_stream_state;
typedef struct nats_stream_source_info {
  const char *name;
  uint64_t lag;
  int64_t active_ms;
  const char *filter_subject;
} nats_stream_source_info;
typedef struct nats_purge_options {
  const char *subject;
  uint64_t sequence;
  uint64_t keep;
} nats_purge_options;
typedef struct nats_direct_get_options {
  uint64_t sequence;
  const char *last_by_subject;
  const char *next_by_subject;
} nats_direct_get_options;
nats_status nats_jetstream_account_info(struct nats_jetstream *js, struct nats_account_info **info);
void nats_account_info_free(struct nats_account_info *info);
nats_status nats_connect(const struct nats_options *opts, struct nats_connection **out);
nats_status nats_connect_url(const char *urls, struct nats_connection **out);
nats_status nats_publish(struct nats_connection *conn, const char *subject, const void *data, size_t len);
nats_status nats_publish_with_reply(struct nats_connection *conn, const char *subject, const char *reply, const void *data, size_t len);
nats_status nats_publish_msg(struct nats_connection *conn, const struct nats_msg *msg);
nats_status nats_connection_flush(struct nats_connection *conn, uint64_t timeout_ms);
nats_status nats_request(struct nats_connection *conn, const char *subject, const void *data, size_t len, uint64_t timeout_ms, struct nats_msg **reply);
nats_status nats_request_msg(struct nats_connection *conn, const struct nats_msg *msg, uint64_t timeout_ms, struct nats_msg **reply);
nats_status nats_request_async(struct nats_connection *conn, const char *subject, const void *data, size_t len, uint64_t timeout_ms, nats_reply_callback cb, void *user_data);
nats_conn_status nats_connection_status(const struct nats_connection *conn);
bool nats_connection_is_closed(const struct nats_connection *conn);
nats_status nats_connection_stats(const struct nats_connection *conn, struct nats_statistics *stats);
nats_status nats_connection_rtt(struct nats_connection *conn, uint64_t *rtt_us);
nats_status nats_connection_reconnect(struct nats_connection *conn);
nats_status nats_connection_sign(struct nats_connection *conn, const void *data, size_t len, uint8_t *sig);
nats_status nats_connection_local_address(const struct nats_connection *conn, char **ip, uint16_t *port);
nats_status nats_connection_new_inbox(const struct nats_connection *conn, char **inbox);
uint64_t nats_connection_max_payload(const struct nats_connection *conn);
uint64_t nats_connection_buffered(const struct nats_connection *conn);
nats_status nats_connection_drain(struct nats_connection *conn, uint64_t timeout_ms);
void nats_connection_close(struct nats_connection *conn);
void nats_connection_free(struct nats_connection *conn);
nats_status nats_connection_server_info(struct nats_connection *conn, struct nats_server_info **info);
const char *nats_connection_name(const struct nats_connection *conn);
nats_status nats_consumer_config_init(struct nats_consumer_config *cfg);
nats_status nats_jetstream_consumer_create(struct nats_jetstream *js, const char *stream, const struct nats_consumer_config *cfg, struct nats_consumer_info **info);
nats_status nats_jetstream_consumer_update(struct nats_jetstream *js, const char *stream, const struct nats_consumer_config *cfg, struct nats_consumer_info **info);
nats_status nats_jetstream_consumer_delete(struct nats_jetstream *js, const char *stream, const char *name);
nats_status nats_jetstream_consumer_info(struct nats_jetstream *js, const char *stream, const char *name, struct nats_consumer_info **info);
nats_status nats_jetstream_consumer_names(struct nats_jetstream *js, const char *stream, char ***names, size_t *count);
const char *nats_consumer_info_name(const struct nats_consumer_info *info);
const char *nats_consumer_info_stream(const struct nats_consumer_info *info);
bool nats_consumer_info_is_push(const struct nats_consumer_info *info);
uint64_t nats_consumer_info_num_pending(const struct nats_consumer_info *info);
uint64_t nats_consumer_info_num_ack_pending(const struct nats_consumer_info *info);
uint64_t nats_consumer_info_num_redelivered(const struct nats_consumer_info *info);
uint64_t nats_consumer_info_num_waiting(const struct nats_consumer_info *info);
uint64_t nats_consumer_info_delivered_stream_seq(const struct nats_consumer_info *info);
uint64_t nats_consumer_info_delivered_consumer_seq(const struct nats_consumer_info *info);
uint64_t nats_consumer_info_ack_floor_stream_seq(const struct nats_consumer_info *info);
uint64_t nats_consumer_info_ack_floor_consumer_seq(const struct nats_consumer_info *info);
nats_status nats_consumer_info_config(const struct nats_consumer_info *info, struct nats_consumer_config *cfg);
bool nats_consumer_info_paused(const struct nats_consumer_info *info);
uint64_t nats_consumer_info_pause_remaining_ms(const struct nats_consumer_info *info);
int64_t nats_consumer_info_created_ns(const struct nats_consumer_info *info);
nats_status nats_jetstream_consumer_infos(struct nats_jetstream *js, const char *stream, struct nats_consumer_info ***infos, size_t *count);
void nats_consumer_infos_free(struct nats_consumer_info **infos, size_t count);
nats_status nats_jetstream_consumer_pause(struct nats_jetstream *js, const char *stream, const char *name, int64_t until_ns, bool *paused);
nats_status nats_jetstream_consumer_resume(struct nats_jetstream *js, const char *stream, const char *name);
void nats_consumer_info_free(struct nats_consumer_info *info);
nats_status nats_jetstream_pull_consumer(struct nats_jetstream *js, const char *stream, const char *name, struct nats_pull_consumer **out);
nats_status nats_pull_consumer_fetch(struct nats_pull_consumer *pc, size_t batch, uint64_t timeout_ms, struct nats_msg ***msgs, size_t *count);
nats_status nats_pull_consumer_fetch_no_wait(struct nats_pull_consumer *pc, size_t batch, struct nats_msg ***msgs, size_t *count);
nats_status nats_pull_consumer_fetch_ex(struct nats_pull_consumer *pc, const struct nats_fetch_options *opts, struct nats_msg ***msgs, size_t *count);
nats_status nats_pull_consumer_next(struct nats_pull_consumer *pc, uint64_t timeout_ms, struct nats_msg **msg);
nats_status nats_pull_consumer_consume(struct nats_pull_consumer *pc, nats_msg_callback cb, void *user_data, nats_user_data_free user_data_free, struct nats_subscription **out);
nats_status nats_pull_consumer_info(struct nats_pull_consumer *pc, struct nats_consumer_info **info);
void nats_pull_consumer_free(struct nats_pull_consumer *pc);
nats_status nats_jetstream_subscribe(struct nats_jetstream *js, const char *stream, const char *consumer, nats_msg_callback cb, void *user_data, nats_user_data_free user_data_free, struct nats_subscription **out);
nats_status nats_jetstream_subscribe_subject(struct nats_jetstream *js, const char *subject, const struct nats_js_subscribe_options *opts, nats_msg_callback cb, void *user_data, nats_user_data_free user_data_free, struct nats_subscription **out);
nats_status nats_jetstream_pull_subscribe(struct nats_jetstream *js, const char *subject, const struct nats_js_subscribe_options *opts, struct nats_pull_consumer **out);
nats_status nats_jetstream_subscribe_sync(struct nats_jetstream *js, const char *stream, const char *consumer, struct nats_subscription **out);
nats_status nats_jetstream_subscribe_ordered(struct nats_jetstream *js, const char *stream, const struct nats_consumer_config *cfg, nats_msg_callback cb, void *user_data, nats_user_data_free user_data_free, struct nats_subscription **out);
nats_status nats_ffi_set_delivery_pool_size(size_t threads);
nats_status nats_dispatcher_new(struct nats_dispatcher **out);
void nats_dispatcher_free(struct nats_dispatcher *d);
int32_t nats_dispatcher_fd(const struct nats_dispatcher *d);
nats_status nats_dispatcher_dispatch(struct nats_dispatcher *d, size_t max, size_t *ran);
nats_status nats_dispatcher_wait(struct nats_dispatcher *d, uint64_t timeout_ms);
nats_status nats_jetstream_options_new(struct nats_jetstream_options **out);
void nats_jetstream_options_free(struct nats_jetstream_options *opts);
nats_status nats_jetstream_options_set_domain(struct nats_jetstream_options *opts, const char *domain);
nats_status nats_jetstream_options_set_api_prefix(struct nats_jetstream_options *opts, const char *prefix);
nats_status nats_jetstream_options_set_timeout_ms(struct nats_jetstream_options *opts, uint64_t ms);
nats_status nats_jetstream_options_set_max_pending_acks(struct nats_jetstream_options *opts, size_t max);
nats_status nats_jetstream_new(struct nats_connection *conn, const struct nats_jetstream_options *opts, struct nats_jetstream **out);
void nats_jetstream_free(struct nats_jetstream *js);
nats_status nats_jetstream_publish(struct nats_jetstream *js, const char *subject, const void *data, size_t len, const struct nats_js_publish_options *opts, struct nats_pub_ack **ack);
nats_status nats_jetstream_publish_msg(struct nats_jetstream *js, const struct nats_msg *msg, const struct nats_js_publish_options *opts, struct nats_pub_ack **ack);
nats_status nats_jetstream_publish_async(struct nats_jetstream *js, const char *subject, const void *data, size_t len, const struct nats_js_publish_options *opts, nats_pub_ack_callback cb, void *user_data);
nats_status nats_jetstream_publish_msg_async(struct nats_jetstream *js, const struct nats_msg *msg, const struct nats_js_publish_options *opts, nats_pub_ack_callback cb, void *user_data);
nats_status nats_jetstream_publish_async_complete(struct nats_jetstream *js, uint64_t timeout_ms);
uint64_t nats_jetstream_publish_async_pending(const struct nats_jetstream *js);
nats_status nats_kv_config_init(struct nats_kv_config *cfg);
nats_status nats_jetstream_kv_create(struct nats_jetstream *js, const struct nats_kv_config *cfg, struct nats_kv **out);
nats_status nats_jetstream_kv_bind(struct nats_jetstream *js, const char *bucket, struct nats_kv **out);
nats_status nats_jetstream_kv_names(struct nats_jetstream *js, char ***names, size_t *count);
nats_status nats_jetstream_kv_delete(struct nats_jetstream *js, const char *bucket);
void nats_kv_free(struct nats_kv *kv);
nats_status nats_kv_put(struct nats_kv *kv, const char *key, const void *data, size_t len, uint64_t *revision);
nats_status nats_kv_create(struct nats_kv *kv, const char *key, const void *data, size_t len, uint64_t *revision);
nats_status nats_kv_create_with_ttl(struct nats_kv *kv, const char *key, const void *data, size_t len, uint64_t ttl_ms, uint64_t *revision);
nats_status nats_kv_update(struct nats_kv *kv, const char *key, const void *data, size_t len, uint64_t last_revision, uint64_t *revision);
nats_status nats_kv_get(struct nats_kv *kv, const char *key, struct nats_kv_entry **entry);
nats_status nats_kv_get_revision(struct nats_kv *kv, const char *key, uint64_t revision, struct nats_kv_entry **entry);
nats_status nats_kv_delete(struct nats_kv *kv, const char *key);
nats_status nats_kv_purge(struct nats_kv *kv, const char *key);
nats_status nats_kv_keys(struct nats_kv *kv, char ***keys, size_t *count);
nats_status nats_kv_keys_filtered(struct nats_kv *kv, const char *const *filters, size_t filters_count, char ***keys, size_t *count);
nats_status nats_kv_purge_deletes(struct nats_kv *kv, uint64_t older_than_ms, size_t *purged);
nats_status nats_kv_status(struct nats_kv *kv, struct nats_kv_bucket_status *status);
nats_status nats_kv_update_with_ttl(struct nats_kv *kv, const char *key, const void *data, size_t len, uint64_t last_revision, uint64_t ttl_ms, uint64_t *revision);
nats_status nats_kv_history(struct nats_kv *kv, const char *key, struct nats_kv_entry ***entries, size_t *count);
void nats_kv_entries_free(struct nats_kv_entry **entries, size_t count);
const char *nats_kv_entry_bucket(const struct nats_kv_entry *e);
const char *nats_kv_entry_value_string(const struct nats_kv_entry *e);
const char *nats_kv_bucket(const struct nats_kv *kv);
const char *nats_kv_entry_key(const struct nats_kv_entry *e);
const void *nats_kv_entry_value(const struct nats_kv_entry *e);
size_t nats_kv_entry_value_len(const struct nats_kv_entry *e);
uint64_t nats_kv_entry_revision(const struct nats_kv_entry *e);
uint64_t nats_kv_entry_delta(const struct nats_kv_entry *e);
int64_t nats_kv_entry_created_ns(const struct nats_kv_entry *e);
nats_kv_op nats_kv_entry_operation(const struct nats_kv_entry *e);
void nats_kv_entry_free(struct nats_kv_entry *e);
nats_status nats_kv_watch(struct nats_kv *kv, const char *keys, uint32_t flags, nats_kv_watch_callback cb, void *user_data, nats_user_data_free user_data_free, struct nats_kv_watcher **out);
nats_status nats_kv_watch_multi(struct nats_kv *kv, const char *const *keys, size_t keys_count, uint32_t flags, nats_kv_watch_callback cb, void *user_data, nats_user_data_free user_data_free, struct nats_kv_watcher **out);
nats_status nats_kv_watch_sync(struct nats_kv *kv, const char *const *keys, size_t keys_count, uint32_t flags, struct nats_kv_watcher **out);
nats_status nats_kv_watcher_next(struct nats_kv_watcher *w, uint64_t timeout_ms, struct nats_kv_entry **entry);
nats_status nats_kv_watcher_stop(struct nats_kv_watcher *w);
void nats_kv_watcher_free(struct nats_kv_watcher *w);
nats_status nats_ffi_shutdown(uint64_t timeout_ms);
nats_status nats_ffi_set_runtime_threads(size_t threads);
nats_status nats_msg_new(const char *subject, const char *reply, const void *data, size_t len, struct nats_msg **out);
nats_status nats_msg_header_set(struct nats_msg *msg, const char *key, const char *value);
nats_status nats_msg_header_add(struct nats_msg *msg, const char *key, const char *value);
nats_status nats_msg_header_delete(struct nats_msg *msg, const char *key);
nats_status nats_msg_header_get(const struct nats_msg *msg, const char *key, const char **value);
nats_status nats_msg_header_values(const struct nats_msg *msg, const char *key, const char *const **values, size_t *count);
nats_status nats_msg_header_keys(const struct nats_msg *msg, const char *const **keys, size_t *count);
uint16_t nats_msg_status(const struct nats_msg *msg);
const char *nats_msg_status_description(const struct nats_msg *msg);
const char *nats_msg_subject(const struct nats_msg *msg);
const char *nats_msg_reply(const struct nats_msg *msg);
const void *nats_msg_data(const struct nats_msg *msg);
size_t nats_msg_data_len(const struct nats_msg *msg);
nats_status nats_msg_clone(const struct nats_msg *msg, struct nats_msg **out);
void nats_msg_free(struct nats_msg *msg);
void nats_msgs_free(struct nats_msg **msgs, size_t count);
nats_status nats_msg_metadata(const struct nats_msg *msg, struct nats_js_msg_metadata *meta);
uint64_t nats_msg_sequence(const struct nats_msg *msg);
int64_t nats_msg_timestamp(const struct nats_msg *msg);
nats_status nats_msg_ack(const struct nats_msg *msg);
nats_status nats_msg_ack_sync(const struct nats_msg *msg, uint64_t timeout_ms);
nats_status nats_msg_nak(const struct nats_msg *msg);
nats_status nats_msg_nak_with_delay(const struct nats_msg *msg, uint64_t delay_ms);
nats_status nats_msg_in_progress(const struct nats_msg *msg);
nats_status nats_msg_term(const struct nats_msg *msg);
nats_status nats_msg_respond(struct nats_connection *conn, const struct nats_msg *request, const void *data, size_t len);
nats_status nats_sign(const char *seed, const void *data, size_t len, uint8_t *sig);
nats_status nats_object_store_config_init(struct nats_object_store_config *cfg);
void nats_object_info_free(struct nats_object_info *info);
void nats_object_infos_free(struct nats_object_info **infos, size_t count);
nats_status nats_jetstream_object_store_create(struct nats_jetstream *js, const struct nats_object_store_config *cfg, struct nats_object_store **os);
nats_status nats_jetstream_object_store_bind(struct nats_jetstream *js, const char *bucket, struct nats_object_store **os);
nats_status nats_jetstream_object_store_delete(struct nats_jetstream *js, const char *bucket);
void nats_object_store_free(struct nats_object_store *os);
nats_status nats_object_store_put(struct nats_object_store *os, const struct nats_object_meta *meta, const void *data, size_t len, struct nats_object_info **info);
nats_status nats_object_store_put_fd(struct nats_object_store *os, const struct nats_object_meta *meta, int fd, struct nats_object_info **info);
nats_status nats_object_store_put_stream(struct nats_object_store *os, const struct nats_object_meta *meta, nats_object_read_callback read, void *user_data, struct nats_object_info **info);
nats_status nats_object_store_get_stream(struct nats_object_store *os, const char *name, nats_object_write_callback write, void *user_data, struct nats_object_info **info);
nats_status nats_object_store_add_link(struct nats_object_store *os, const char *name, const char *target, struct nats_object_info **info);
nats_status nats_object_store_add_bucket_link(struct nats_object_store *os, const char *name, const char *bucket, struct nats_object_info **info);
nats_status nats_object_store_get(struct nats_object_store *os, const char *name, void **data, size_t *len, struct nats_object_info **info);
void nats_bytes_free(void *data);
nats_status nats_object_store_get_fd(struct nats_object_store *os, const char *name, int fd, struct nats_object_info **info);
nats_status nats_object_store_info(struct nats_object_store *os, const char *name, struct nats_object_info **info);
nats_status nats_object_store_list(struct nats_object_store *os, struct nats_object_info ***infos, size_t *count);
nats_status nats_object_store_delete(struct nats_object_store *os, const char *name);
nats_status nats_object_store_update_meta(struct nats_object_store *os, const char *name, const struct nats_object_meta *meta, struct nats_object_info **info);
nats_status nats_object_store_status(struct nats_object_store *os, struct nats_object_store_state *status);
nats_status nats_object_store_watch(struct nats_object_store *os, bool include_history, nats_object_watch_callback cb, void *user_data, nats_user_data_free user_data_free, struct nats_object_watcher **out);
nats_status nats_object_watcher_stop(struct nats_object_watcher *w);
void nats_object_watcher_free(struct nats_object_watcher *w);
nats_status nats_options_new(struct nats_options **out);
void nats_options_free(struct nats_options *opts);
nats_status nats_options_set_servers(struct nats_options *opts, const char *const *urls, size_t count);
nats_status nats_options_set_user_password(struct nats_options *opts, const char *user, const char *password);
nats_status nats_options_set_user_password_file(struct nats_options *opts, const char *user, const char *password_path);
nats_status nats_options_set_token(struct nats_options *opts, const char *token);
nats_status nats_options_set_token_file(struct nats_options *opts, const char *token_path);
nats_status nats_options_set_nkey_seed(struct nats_options *opts, const char *seed);
nats_status nats_options_set_nkey_seed_file(struct nats_options *opts, const char *seed_path);
nats_status nats_options_set_credentials_file(struct nats_options *opts, const char *creds_path);
nats_status nats_options_set_credentials(struct nats_options *opts, const char *creds);
nats_status nats_options_set_credentials_files(struct nats_options *opts, const char *jwt_path, const char *seed_path);
nats_status nats_options_set_user_jwt(struct nats_options *opts, const char *jwt, nats_sign_callback cb, void *user_data);
nats_status nats_options_set_token_handler(struct nats_options *opts, nats_token_callback cb, void *user_data);
nats_status nats_options_set_name(struct nats_options *opts, const char *name);
nats_status nats_options_set_allow_reconnect(struct nats_options *opts, bool allow);
nats_status nats_options_set_fail_requests_on_disconnect(struct nats_options *opts, bool fail);
nats_status nats_options_set_no_echo(struct nats_options *opts, bool no_echo);
nats_status nats_options_use_shared_delivery(struct nats_options *opts, bool use_pool);
nats_status nats_options_set_dispatcher(struct nats_options *opts, struct nats_dispatcher *d);
nats_status nats_options_set_max_reconnects(struct nats_options *opts, uint32_t max);
nats_status nats_options_set_connection_timeout_ms(struct nats_options *opts, uint64_t ms);
nats_status nats_options_set_tls_required(struct nats_options *opts, bool required);
nats_status nats_options_set_tls_first(struct nats_options *opts, bool tls_first);
nats_status nats_options_set_certificate(struct nats_options *opts, const char *ca_pem_path);
nats_status nats_options_set_tls_server_name(struct nats_options *opts, const char *name);
nats_status nats_options_set_tls_insecure_skip_verify(struct nats_options *opts, bool skip);
nats_status nats_options_set_client_cert(struct nats_options *opts, const char *cert_path, const char *key_path);
nats_status nats_options_set_ca_pem(struct nats_options *opts, const char *ca_pem);
nats_status nats_options_set_client_cert_pem(struct nats_options *opts, const char *cert_pem, const char *key_pem);
nats_status nats_options_set_ping_interval_ms(struct nats_options *opts, uint64_t ms);
nats_status nats_options_set_sender_capacity(struct nats_options *opts, size_t capacity);
nats_status nats_options_set_inbox_prefix(struct nats_options *opts, const char *prefix);
nats_status nats_options_set_request_timeout_ms(struct nats_options *opts, uint64_t ms);
nats_status nats_options_set_retry_on_initial_connect(struct nats_options *opts, bool retry);
nats_status nats_options_set_ignore_discovered_servers(struct nats_options *opts, bool ignore);
nats_status nats_options_set_retain_servers_order(struct nats_options *opts, bool retain);
nats_status nats_options_set_no_randomize(struct nats_options *opts, bool no_randomize);
nats_status nats_options_set_reconnect_wait_ms(struct nats_options *opts, uint64_t ms);
nats_status nats_options_set_reconnect_jitter_ms(struct nats_options *opts, uint64_t plain_ms, uint64_t tls_ms);
nats_status nats_options_set_max_pings_out(struct nats_options *opts, uint32_t max);
nats_status nats_options_set_reconnect_buffer_size(struct nats_options *opts, size_t bytes);
nats_status nats_options_set_connected_cb(struct nats_options *opts, nats_connection_callback cb, void *user_data);
nats_status nats_options_set_disconnected_cb(struct nats_options *opts, nats_connection_callback cb, void *user_data);
nats_status nats_options_set_reconnected_cb(struct nats_options *opts, nats_connection_callback cb, void *user_data);
nats_status nats_options_set_closed_cb(struct nats_options *opts, nats_connection_callback cb, void *user_data);
nats_status nats_options_set_lame_duck_cb(struct nats_options *opts, nats_connection_callback cb, void *user_data);
nats_status nats_options_set_discovered_servers_cb(struct nats_options *opts, nats_connection_callback cb, void *user_data);
nats_status nats_options_set_error_cb(struct nats_options *opts, nats_error_callback cb, void *user_data);
nats_status nats_options_set_reconnect_delay_cb(struct nats_options *opts, nats_reconnect_delay_callback cb, void *user_data);
const char *nats_pub_ack_stream(const struct nats_pub_ack *ack);
const char *nats_pub_ack_domain(const struct nats_pub_ack *ack);
uint64_t nats_pub_ack_sequence(const struct nats_pub_ack *ack);
bool nats_pub_ack_duplicate(const struct nats_pub_ack *ack);
void nats_pub_ack_free(struct nats_pub_ack *ack);
void nats_server_info_free(struct nats_server_info *info);
const char *nats_server_info_id(const struct nats_server_info *info);
const char *nats_server_info_name(const struct nats_server_info *info);
const char *nats_server_info_version(const struct nats_server_info *info);
const char *nats_server_info_host(const struct nats_server_info *info);
const char *nats_server_info_connected_url(const struct nats_server_info *info);
const char *nats_server_info_client_ip(const struct nats_server_info *info);
const char *nats_server_info_cluster(const struct nats_server_info *info);
uint16_t nats_server_info_port(const struct nats_server_info *info);
uint64_t nats_server_info_max_payload(const struct nats_server_info *info);
uint64_t nats_server_info_client_id(const struct nats_server_info *info);
bool nats_server_info_jetstream(const struct nats_server_info *info);
bool nats_server_info_headers(const struct nats_server_info *info);
bool nats_server_info_lame_duck(const struct nats_server_info *info);
nats_status nats_server_info_discovered_servers(const struct nats_server_info *info, const char *const **urls, size_t *count);
nats_status nats_server_info_servers(const struct nats_server_info *info, const char *const **urls, size_t *count);
nats_status nats_service_add(struct nats_connection *conn, const struct nats_service_config *cfg, struct nats_service **out);
nats_status nats_service_add_endpoint(struct nats_service *svc, const struct nats_service_group *group, const struct nats_service_endpoint_config *cfg, nats_service_handler handler, void *user_data, nats_user_data_free user_data_free);
nats_status nats_service_add_group(struct nats_service *svc, const struct nats_service_group *parent, const char *name, const char *queue_group, struct nats_service_group **out);
void nats_service_group_free(struct nats_service_group *group);
const char *nats_service_id(const struct nats_service *svc);
nats_status nats_service_stop(struct nats_service *svc, uint64_t timeout_ms);
bool nats_service_stopped(const struct nats_service *svc);
nats_status nats_service_reset(struct nats_service *svc);
nats_status nats_service_stats(struct nats_service *svc, struct nats_service_statistics **out);
void nats_service_statistics_free(struct nats_service_statistics *stats);
void nats_service_free(struct nats_service *svc);
const struct nats_msg *nats_service_request_msg(const struct nats_service_request *req);
nats_status nats_service_respond(struct nats_service_request *req, const void *data, size_t len);
nats_status nats_service_respond_msg(struct nats_service_request *req, const struct nats_msg *response);
nats_status nats_service_respond_error(struct nats_service_request *req, int32_t code, const char *description, const void *data, size_t len);
const char *nats_status_str(int32_t status);
bool nats_status_is_retryable(int32_t status);
const char *nats_last_error(void);
nats_status nats_stream_config_init(struct nats_stream_config *cfg);
nats_status nats_jetstream_stream_create(struct nats_jetstream *js, const struct nats_stream_config *cfg, struct nats_stream_info **info);
nats_status nats_jetstream_stream_update(struct nats_jetstream *js, const struct nats_stream_config *cfg, struct nats_stream_info **info);
nats_status nats_jetstream_stream_delete(struct nats_jetstream *js, const char *name);
nats_status nats_jetstream_stream_info(struct nats_jetstream *js, const char *name, struct nats_stream_info **info);
nats_status nats_jetstream_stream_purge(struct nats_jetstream *js, const char *name, const char *subject, uint64_t *purged);
nats_status nats_jetstream_stream_names(struct nats_jetstream *js, char ***names, size_t *count);
nats_status nats_jetstream_stream_get_msg(struct nats_jetstream *js, const char *name, uint64_t seq, struct nats_msg **msg);
nats_status nats_jetstream_stream_get_last_msg(struct nats_jetstream *js, const char *name, const char *subject, struct nats_msg **msg);
const char *nats_stream_info_name(const struct nats_stream_info *info);
nats_status nats_stream_info_subjects(const struct nats_stream_info *info, const char *const **subjects, size_t *count);
uint64_t nats_stream_info_messages(const struct nats_stream_info *info);
uint64_t nats_stream_info_bytes(const struct nats_stream_info *info);
uint64_t nats_stream_info_first_seq(const struct nats_stream_info *info);
uint64_t nats_stream_info_last_seq(const struct nats_stream_info *info);
uint64_t nats_stream_info_consumers(const struct nats_stream_info *info);
void nats_stream_info_free(struct nats_stream_info *info);
nats_status nats_stream_info_config(const struct nats_stream_info *info, struct nats_stream_config *cfg);
nats_status nats_stream_info_state(const struct nats_stream_info *info, struct nats_stream_state *state);
int64_t nats_stream_info_created_ns(const struct nats_stream_info *info);
const char *nats_stream_info_cluster_leader(const struct nats_stream_info *info);
const struct nats_stream_source_info *nats_stream_info_mirror(const struct nats_stream_info *info);
nats_status nats_stream_info_sources(const struct nats_stream_info *info, const struct nats_stream_source_info **sources, size_t *count);
nats_status nats_jetstream_stream_purge_ex(struct nats_jetstream *js, const char *name, const struct nats_purge_options *opts, uint64_t *purged);
nats_status nats_jetstream_stream_delete_msg(struct nats_jetstream *js, const char *name, uint64_t seq);
nats_status nats_jetstream_stream_erase_msg(struct nats_jetstream *js, const char *name, uint64_t seq);
nats_status nats_jetstream_stream_direct_get(struct nats_jetstream *js, const char *name, const struct nats_direct_get_options *opts, struct nats_msg **msg);
nats_status nats_jetstream_stream_infos(struct nats_jetstream *js, struct nats_stream_info ***infos, size_t *count);
void nats_stream_infos_free(struct nats_stream_info **infos, size_t count);
void nats_string_free(char *s);
void nats_strings_free(char **list, size_t count);
nats_status nats_subscribe(struct nats_connection *conn, const char *subject, nats_msg_callback cb, void *user_data, struct nats_subscription **out);
nats_status nats_queue_subscribe(struct nats_connection *conn, const char *subject, const char *queue, nats_msg_callback cb, void *user_data, struct nats_subscription **out);
nats_status nats_subscribe_ex(struct nats_connection *conn, const char *subject, const char *queue, nats_msg_callback cb, void *user_data, nats_user_data_free user_data_free, struct nats_subscription **out);
nats_status nats_subscribe_sync(struct nats_connection *conn, const char *subject, struct nats_subscription **out);
nats_status nats_queue_subscribe_sync(struct nats_connection *conn, const char *subject, const char *queue, struct nats_subscription **out);
nats_status nats_subscription_next_msg(struct nats_subscription *sub, uint64_t timeout_ms, struct nats_msg **msg);
nats_status nats_subscription_unsubscribe(struct nats_subscription *sub);
nats_status nats_subscription_auto_unsubscribe(struct nats_subscription *sub, uint64_t max);
nats_status nats_subscription_drain(struct nats_subscription *sub, uint64_t timeout_ms);
nats_status nats_subscription_set_pending_limits(struct nats_subscription *sub, int64_t msgs, int64_t bytes);
nats_status nats_subscription_pending_limits(const struct nats_subscription *sub, int64_t *msgs, int64_t *bytes);
nats_status nats_subscription_pending(const struct nats_subscription *sub, int64_t *msgs, int64_t *bytes);
nats_status nats_subscription_max_pending(const struct nats_subscription *sub, int64_t *msgs, int64_t *bytes);
nats_status nats_subscription_clear_max_pending(struct nats_subscription *sub);
const char *nats_subscription_subject(const struct nats_subscription *sub);
const char *nats_subscription_queue(const struct nats_subscription *sub);
uint64_t nats_subscription_id(const struct nats_subscription *sub);
nats_status nats_subscription_consumer_info(const struct nats_subscription *sub, struct nats_consumer_info **info);
uint64_t nats_subscription_dropped(const struct nats_subscription *sub);
uint64_t nats_subscription_delivered(const struct nats_subscription *sub);
bool nats_subscription_is_valid(const struct nats_subscription *sub);
void nats_subscription_free(struct nats_subscription *sub);
const char *nats_ffi_version(void);
nats_status nats_ffi_check_version(uint32_t major, uint32_t minor);
