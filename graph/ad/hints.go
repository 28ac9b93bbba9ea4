package ad

import (
	ber "github.com/go-asn1-ber/asn1-ber"
)

// The policy-hints controls. With one of them on a password reset (a replace of unicodePwd by
// an administrator), AD applies the password history and minimum age as for a change by the
// user; without it, a reset ignores history. LDAP_SERVER_POLICY_HINTS_OID is Windows Server
// 2012 and later; the deprecated one is Windows Server 2008 R2's. Both take a BER sequence
// holding the integer 1. https://learn.microsoft.com/openspecs/windows_protocols/ms-adts/4bcff5bb-4b86-4dd1-9a4f-2ad42e498ec1
// and https://learn.microsoft.com/openspecs/windows_protocols/ms-adts/49751d58-8115-4277-8faf-64c83a5f658f
const (
	PolicyHintsOID           = "1.2.840.113556.1.4.2239"
	PolicyHintsDeprecatedOID = "1.2.840.113556.1.4.2066"
)

// policyHints is the control, sent critical: a DC that does not know it refuses the change
// (unavailableCriticalExtension) rather than silently skipping the history.
type policyHints string

func (h policyHints) GetControlType() string { return string(h) }
func (h policyHints) String() string         { return "policy hints " + string(h) }

func (h policyHints) Encode() *ber.Packet {
	p := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "Control")
	p.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, string(h), "Control Type"))
	p.AppendChild(ber.NewBoolean(ber.ClassUniversal, ber.TypePrimitive, ber.TagBoolean, true, "Criticality"))
	v := ber.Encode(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, nil, "Control Value")
	seq := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "PolicyHintsRequestValue")
	seq.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, 1, "Flags"))
	v.AppendChild(seq)
	p.AppendChild(v)
	return p
}

// hints is the control to send next.
func (d *Directory) hints() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.hintsOID
}

// noHints records that the DC refused oid: the deprecated control is tried next, then none
// (logged once: that DC does not apply password history to resets).
func (d *Directory) noHints(oid string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.hintsOID != oid {
		return
	}
	if oid == PolicyHintsOID {
		d.hintsOID = PolicyHintsDeprecatedOID
		return
	}
	d.hintsOID = ""
	d.log.Warn("the domain controller takes neither policy-hints control, so it does not apply password history to the bot's resets",
		"tried", PolicyHintsOID+", "+PolicyHintsDeprecatedOID)
}
