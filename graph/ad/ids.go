package ad

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
)

// guidString renders objectGUID the way AD tools show it (the first three groups little-endian).
func guidString(b []byte) string {
	if len(b) != 16 {
		return ""
	}
	return fmt.Sprintf("%08x-%04x-%04x-%x-%x", binary.LittleEndian.Uint32(b[0:4]), binary.LittleEndian.Uint16(b[4:6]),
		binary.LittleEndian.Uint16(b[6:8]), b[8:10], b[10:16])
}

// guidBytes is the inverse of guidString.
func guidBytes(s string) ([]byte, error) {
	h, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(h) != 16 || len(s) != 36 {
		return nil, errors.New("not a GUID")
	}
	out := make([]byte, 16)
	binary.LittleEndian.PutUint32(out[0:4], binary.BigEndian.Uint32(h[0:4]))
	binary.LittleEndian.PutUint16(out[4:6], binary.BigEndian.Uint16(h[4:6]))
	binary.LittleEndian.PutUint16(out[6:8], binary.BigEndian.Uint16(h[6:8]))
	copy(out[8:], h[8:])
	return out, nil
}

// sidString renders a binary objectSid as S-1-5-21-...
func sidString(b []byte) string {
	if len(b) < 8 || int(b[1]) != (len(b)-8)/4 {
		return ""
	}
	var auth uint64
	for _, x := range b[2:8] {
		auth = auth<<8 | uint64(x)
	}
	s := "S-" + strconv.Itoa(int(b[0])) + "-" + strconv.FormatUint(auth, 10)
	for i := 0; i < int(b[1]); i++ {
		s += "-" + strconv.FormatUint(uint64(binary.LittleEndian.Uint32(b[8+4*i:])), 10)
	}
	return s
}

var sidForm = regexp.MustCompile(`^S-1-[0-9]{1,13}(-[0-9]{1,10}){1,15}$`)

func validSID(s string) bool { return sidForm.MatchString(s) }

// domainPart is the SID without its last sub-authority (the RID).
func domainPart(sid string) string {
	i := strings.LastIndexByte(sid, '-')
	if i < 0 {
		return ""
	}
	return sid[:i]
}

// AD's protected accounts and groups (those AdminSDHolder guards): by RID in any domain, and
// the builtin groups.
var (
	protectedDomainRIDs = map[string]bool{
		"500": true, // Administrator
		"502": true, // krbtgt
		"512": true, // Domain Admins
		"516": true, // Domain Controllers
		"518": true, // Schema Admins
		"519": true, // Enterprise Admins
		"521": true, // Read-only Domain Controllers
		"526": true, // Key Admins
		"527": true, // Enterprise Key Admins
	}
	protectedBuiltin = map[string]bool{
		"S-1-5-32-544": true, // Administrators
		"S-1-5-32-548": true, // Account Operators
		"S-1-5-32-549": true, // Server Operators
		"S-1-5-32-550": true, // Print Operators
		"S-1-5-32-551": true, // Backup Operators
		"S-1-5-32-552": true, // Replicator
	}
)

// protectedRID reports whether a SID names one of AD's protected accounts or groups.
func protectedRID(sid string) bool {
	if protectedBuiltin[sid] {
		return true
	}
	if !strings.HasPrefix(sid, "S-1-5-21-") {
		return false
	}
	return protectedDomainRIDs[sid[strings.LastIndexByte(sid, '-')+1:]]
}

// Windows FILETIME: 100 ns ticks since 1601-01-01 UTC.
const filetimeEpoch = 116444736000000000

func fromFiletime(ft int64) time.Time {
	return time.Unix(0, (ft-filetimeEpoch)*100).UTC()
}

func toFiletime(t time.Time) int64 {
	return t.UnixNano()/100 + filetimeEpoch
}

// QuotePassword encodes a password the way unicodePwd takes it: in double quotes, UTF-16LE.
func QuotePassword(pw string) string {
	u := utf16.Encode([]rune(`"` + pw + `"`))
	b := make([]byte, 2*len(u))
	for i, r := range u {
		binary.LittleEndian.PutUint16(b[2*i:], r)
	}
	return string(b)
}
