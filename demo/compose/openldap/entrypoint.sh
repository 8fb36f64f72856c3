#!/bin/sh
# Builds cn=config and the directory offline (slapadd) at the first start, then
# runs slapd in the foreground as the openldap user, logging to stderr.
#   LDAP_BASE_DN         suffix (dc=, o= or ou= first RDN); default dc=example,dc=com
#   LDAP_ADMIN_PASSWORD  rootdn (cn=admin,<suffix>) password; required
#   LDAP_URLS            listeners; default ldap://127.0.0.1:389/
#   /seed/*.ldif         entries under the suffix, loaded in name order
set -eu
: "${LDAP_ADMIN_PASSWORD:?set LDAP_ADMIN_PASSWORD}"
BASE_DN="${LDAP_BASE_DN:-dc=example,dc=com}"
STATE=/var/lib/ljwt-openldap

base_entry() {
  first="${BASE_DN%%,*}"
  attr=$(printf '%s' "${first%%=*}" | tr 'A-Z' 'a-z')
  value="${first#*=}"
  case "$attr" in
    dc) printf 'dn: %s\nobjectClass: dcObject\nobjectClass: organization\ndc: %s\no: %s\n\n' "$BASE_DN" "$value" "$value" ;;
    o) printf 'dn: %s\nobjectClass: organization\no: %s\n\n' "$BASE_DN" "$value" ;;
    ou) printf 'dn: %s\nobjectClass: organizationalUnit\nou: %s\n\n' "$BASE_DN" "$value" ;;
    *) echo "LDAP_BASE_DN=$BASE_DN: the first RDN must be dc=, o= or ou=" >&2; exit 1 ;;
  esac
}

if [ ! -e "$STATE/loaded" ]; then
  rm -rf "$STATE" && mkdir -p "$STATE/slapd.d" "$STATE/data"
  cat > "$STATE/config.ldif" <<LDIF
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: $STATE/slapd.pid

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif

include: file:///etc/ldap/schema/cosine.ldif

include: file:///etc/ldap/schema/inetorgperson.ldif

include: file:///etc/ldap/schema/nis.ldif

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by * none

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcDbDirectory: $STATE/data
olcSuffix: $BASE_DN
olcRootDN: cn=admin,$BASE_DN
olcRootPW: $(slappasswd -s "$LDAP_ADMIN_PASSWORD")
olcDbIndex: objectClass eq
olcAccess: {0}to attrs=userPassword by anonymous auth by self =x by * none
olcAccess: {1}to * by users read by * none
LDIF
  slapadd -n0 -F "$STATE/slapd.d" -l "$STATE/config.ldif"
  rm "$STATE/config.ldif"
  {
    base_entry
    for f in /seed/*.ldif; do
      [ -e "$f" ] || continue
      cat "$f"
      printf '\n'
    done
  } > "$STATE/data.ldif"
  slapadd -F "$STATE/slapd.d" -b "$BASE_DN" -l "$STATE/data.ldif"
  rm "$STATE/data.ldif"
  chown -R openldap:openldap "$STATE"
  touch "$STATE/loaded"
fi
exec slapd -h "$LDAP_URLS" -F "$STATE/slapd.d" -u openldap -g openldap -d "${LDAP_DEBUG:-stats}"
