/* placeholder */
typedef int loki_placeholder_server_tcp;
