/* placeholder */
typedef int loki_placeholder_upstream;
