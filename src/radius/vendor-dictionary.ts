/**
 * Vendor-specific attributes (RFC 2865 §5.26) that network gear commonly expects in an Access-Accept,
 * in FreeRADIUS dictionary format. The `radius` package ships only the RFC dictionaries (and
 * ADSL-Forum); these entries are added to its codec and to our metadata at load. Numbers follow the
 * vendors' published dictionaries (as shipped by FreeRADIUS). Add a vendor here, with a test.
 */
export const VENDOR_DICTIONARY = `
VENDOR		Cisco				9
BEGIN-VENDOR	Cisco
ATTRIBUTE	Cisco-AVPair				1	string
ATTRIBUTE	Cisco-NAS-Port				2	string
END-VENDOR	Cisco

VENDOR		HP				11
BEGIN-VENDOR	HP
ATTRIBUTE	HP-Privilege-Level			1	integer
ATTRIBUTE	HP-Command-String			2	string
ATTRIBUTE	HP-User-Role				25	string
END-VENDOR	HP

VENDOR		Extreme				1916
BEGIN-VENDOR	Extreme
ATTRIBUTE	Extreme-CLI-Authorization		201	integer
ATTRIBUTE	Extreme-Netlogin-Vlan			203	string
END-VENDOR	Extreme

VENDOR		Juniper				2636
BEGIN-VENDOR	Juniper
ATTRIBUTE	Juniper-Local-User-Name			1	string
ATTRIBUTE	Juniper-Allow-Commands			2	string
ATTRIBUTE	Juniper-Deny-Commands			3	string
ATTRIBUTE	Juniper-Allow-Configuration		4	string
ATTRIBUTE	Juniper-Deny-Configuration		5	string
ATTRIBUTE	Juniper-User-Permissions		10	string
END-VENDOR	Juniper

VENDOR		Fortinet			12356
BEGIN-VENDOR	Fortinet
ATTRIBUTE	Fortinet-Group-Name			1	string
ATTRIBUTE	Fortinet-Vdom-Name			3	string
ATTRIBUTE	Fortinet-Access-Profile			6	string
END-VENDOR	Fortinet

VENDOR		WISPr				14122
BEGIN-VENDOR	WISPr
ATTRIBUTE	WISPr-Redirection-URL			4	string
ATTRIBUTE	WISPr-Bandwidth-Max-Up			7	integer
ATTRIBUTE	WISPr-Bandwidth-Max-Down		8	integer
END-VENDOR	WISPr

VENDOR		Aruba				14823
BEGIN-VENDOR	Aruba
ATTRIBUTE	Aruba-User-Role				1	string
ATTRIBUTE	Aruba-User-Vlan				2	integer
ATTRIBUTE	Aruba-Priv-Admin-User			3	integer
ATTRIBUTE	Aruba-Admin-Role			4	string
ATTRIBUTE	Aruba-Named-User-Vlan			9	string
END-VENDOR	Aruba

VENDOR		Mikrotik			14988
BEGIN-VENDOR	Mikrotik
ATTRIBUTE	Mikrotik-Group				3	string
ATTRIBUTE	Mikrotik-Rate-Limit			8	string
END-VENDOR	Mikrotik

VENDOR		Ruckus				25053
BEGIN-VENDOR	Ruckus
ATTRIBUTE	Ruckus-User-Groups			1	string
ATTRIBUTE	Ruckus-VLAN-ID				9	integer
END-VENDOR	Ruckus

VENDOR		PaloAlto			25461
BEGIN-VENDOR	PaloAlto
ATTRIBUTE	PaloAlto-Admin-Role			1	string
ATTRIBUTE	PaloAlto-Admin-Access-Domain		2	string
ATTRIBUTE	PaloAlto-Panorama-Admin-Role		3	string
ATTRIBUTE	PaloAlto-Panorama-Admin-Access-Domain	4	string
ATTRIBUTE	PaloAlto-User-Group			5	string
END-VENDOR	PaloAlto
`;
