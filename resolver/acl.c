/* placeholder */
typedef int loki_placeholder_acl;
