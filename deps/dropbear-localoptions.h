/* Berth's build options for dropbear (deps/build-sysroot copies this file to
 * localoptions.h): public-key authentication only (no passwords: musl has no
 * crypt() for them and an appliance wants keys), no forwarding of any kind,
 * host keys on the persistent /var. */
#define DROPBEAR_SVR_PASSWORD_AUTH 0
#define DROPBEAR_SVR_PAM_AUTH 0
#define DROPBEAR_SVR_PUBKEY_AUTH 1
#define DROPBEAR_DSS 0
#define DROPBEAR_X11FWD 0
#define DROPBEAR_SVR_AGENTFWD 0
#define DROPBEAR_SVR_LOCALTCPFWD 0
#define DROPBEAR_SVR_REMOTETCPFWD 0
#define DSS_PRIV_FILENAME "/var/lib/berth/ssh/dropbear_dss_host_key"
#define RSA_PRIV_FILENAME "/var/lib/berth/ssh/dropbear_rsa_host_key"
#define ECDSA_PRIV_FILENAME "/var/lib/berth/ssh/dropbear_ecdsa_host_key"
#define ED25519_PRIV_FILENAME "/var/lib/berth/ssh/dropbear_ed25519_host_key"
#define DEFAULT_PATH "/usr/bin:/bin"
#define DEFAULT_ROOT_PATH "/usr/sbin:/usr/bin:/sbin:/bin"
