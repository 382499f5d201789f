/* placeholder */
typedef int loki_placeholder_netaddr;
