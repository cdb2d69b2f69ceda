package msgpack

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
)

// The tables below pin the codec's exact bytes: the MessagePack that
// responses are sent as, and the parameters that request bodies decode to.
// They were recorded from the codec as deployed; clients compare these
// bytes, so a change of encoder must leave every row as it is.

// fromJSONGolden maps JSON (a response as webapi.Envelope renders it, or a
// single value) to the MessagePack it is sent as, in hex; "error" marks
// input FromJSON refuses.
var fromJSONGolden = []struct{ name, json, want string }{
	// Envelopes and responses as clients receive them.
	{"error envelope", `{"result":1,"message":"Unable to authenticate."}`, "82a6726573756c7401a76d657373616765b7556e61626c6520746f2061757468656e7469636174652e"},
	{"empty success", `{"result":0,"message":""}`, "82a6726573756c7400a76d657373616765a0"},
	{"activate", `{"licenseKey":{"ProductId":3349,"ID":42,"Key":"ICVLD-VVSZR-ZTICT-YKGXL","Created":1713916800,"Expires":1745452800,"Period":365,"F1":true,"F2":false,"F3":false,"F4":false,"F5":false,"F6":false,"F7":false,"F8":false,"Notes":null,"Block":false,"GlobalId":1234567,"Customer":{"Id":7,"Name":"Alice","Email":"alice@example.com","CompanyName":null,"Created":1713916800},"ActivatedMachines":[{"Mid":"3f2a9c","IP":"203.0.113.7","Time":1713920000,"FriendlyName":"Büro-PC"}],"TrialActivation":false,"MaxNoOfMachines":5,"AllowedMachines":"","DataObjects":[{"Id":9,"Name":"usage","StringValue":"","IntValue":-17}],"SignDate":1713920001,"Reseller":null},"signature":"AQAB+/=","result":0,"message":""}`, "84aa6c6963656e73654b6579de0019a950726f647563744964cd0d15a249442aa34b6579b74943564c442d5656535a522d5a544943542d594b47584ca743726561746564ce66284b80a745787069726573ce68097f00a6506572696f64cd016da24631c3a24632c2a24633c2a24634c2a24635c2a24636c2a24637c2a24638c2a54e6f746573c0a5426c6f636bc2a8476c6f62616c4964ce0012d687a8437573746f6d657285a2496407a44e616d65a5416c696365a5456d61696cb1616c696365406578616d706c652e636f6dab436f6d70616e794e616d65c0a743726561746564ce66284b80b14163746976617465644d616368696e65739184a34d6964a6336632613963a24950ab3230332e302e3131332e37a454696d65ce66285800ac467269656e646c794e616d65a842c3bc726f2d5043af547269616c41637469766174696f6ec2af4d61784e6f4f664d616368696e657305af416c6c6f7765644d616368696e6573a0ab446174614f626a656374739184a2496409a44e616d65a57573616765ab537472696e6756616c7565a0a8496e7456616c7565efa85369676e44617465ce66285801a8526573656c6c6572c0a97369676e6174757265a7415141422b2f3da6726573756c7400a76d657373616765a0"},
	{"key list", `{"licenseKeys":[{"ID":1,"Key":"AAAAA-BBBBB-CCCCC-DDDDD","Period":0},{"ID":2,"Key":"EEEEE-FFFFF-GGGGG-HHHHH","Period":30}],"returned":2,"total":2,"pageCount":1,"result":0,"message":""}`, "86ab6c6963656e73654b6579739283a2494401a34b6579b741414141412d42424242422d43434343432d4444444444a6506572696f640083a2494402a34b6579b745454545452d46464646462d47474747472d4848484848a6506572696f641ea872657475726e656402a5746f74616c02a970616765436f756e7401a6726573756c7400a76d657373616765a0"},
	{"metadata", `{"metadata":{"activatedMachines":1,"licenseStatus":{"isValid":true,"timeLimited":false,"trial":false,"timeLeft":0,"reasons":[]}},"signature":"x","result":0,"message":""}`, "84a86d6574616461746182b16163746976617465644d616368696e657301ad6c6963656e736553746174757385a7697356616c6964c3ab74696d654c696d69746564c2a5747269616cc2a874696d654c65667400a7726561736f6e7390a97369676e6174757265a178a6726573756c7400a76d657373616765a0"},

	// Scalars.
	{"null", `null`, "c0"},
	{"true", `true`, "c3"},
	{"false", `false`, "c2"},
	{"empty object", `{}`, "80"},
	{"empty array", `[]`, "90"},
	{"empty string", `""`, "a0"},
	{"whitespace around", " \n\t{ \"a\" : [ 1 , 2 ] }\r\n ", "81a161920102"},

	// Integers: every boundary of every encoding.
	{"0", `0`, "00"},
	{"-0", `-0`, "00"},
	{"1", `1`, "01"},
	{"127", `127`, "7f"},
	{"128", `128`, "cc80"},
	{"255", `255`, "ccff"},
	{"256", `256`, "cd0100"},
	{"32767", `32767`, "cd7fff"},
	{"32768", `32768`, "cd8000"},
	{"65535", `65535`, "cdffff"},
	{"65536", `65536`, "ce00010000"},
	{"2147483647", `2147483647`, "ce7fffffff"},
	{"2147483648", `2147483648`, "ce80000000"},
	{"4294967295", `4294967295`, "ceffffffff"},
	{"4294967296", `4294967296`, "cf0000000100000000"},
	{"max int64", `9223372036854775807`, "cf7fffffffffffffff"},
	{"max int64 + 1", `9223372036854775808`, "cf8000000000000000"},
	{"max uint64", `18446744073709551615`, "cfffffffffffffffff"},
	{"max uint64 + 1", `18446744073709551616`, "cb43f0000000000000"},
	{"-1", `-1`, "ff"},
	{"-31", `-31`, "e1"},
	{"-32", `-32`, "e0"},
	{"-33", `-33`, "d0df"},
	{"-127", `-127`, "d081"},
	{"-128", `-128`, "d080"},
	{"-129", `-129`, "d1ff7f"},
	{"-32767", `-32767`, "d18001"},
	{"-32768", `-32768`, "d18000"},
	{"-32769", `-32769`, "d2ffff7fff"},
	{"-2147483648", `-2147483648`, "d280000000"},
	{"-2147483649", `-2147483649`, "d3ffffffff7fffffff"},
	{"min int64", `-9223372036854775808`, "d38000000000000000"},
	{"min int64 - 1", `-9223372036854775809`, "cbc3e0000000000000"},
	{"huge integer", `123456789012345678901234567890`, "cb45f8ee90ff6c373e"},

	// Floats: always float64.
	{"1.5", `1.5`, "cb3ff8000000000000"},
	{"-1.5", `-1.5`, "cbbff8000000000000"},
	{"0.0", `0.0`, "cb0000000000000000"},
	{"-0.0", `-0.0`, "cb8000000000000000"},
	{"1.0", `1.0`, "cb3ff0000000000000"},
	{"0.1", `0.1`, "cb3fb999999999999a"},
	{"1e2", `1e2`, "cb4059000000000000"},
	{"1E2", `1E2`, "cb4059000000000000"},
	{"1e+2", `1e+2`, "cb4059000000000000"},
	{"-2.5e-7", `-2.5e-7`, "cbbe90c6f7a0b5ed8d"},
	{"float32 exact", `0.25`, "cb3fd0000000000000"},
	{"max float64", `1.7976931348623157e308`, "cb7fefffffffffffff"},
	{"smallest subnormal", `5e-324`, "cb0000000000000001"},
	{"underflow", `1e-400`, "cb0000000000000000"},
	{"overflow", `1e400`, "error"},

	// Strings: every length encoding, unicode and escapes.
	{"fixstr 31", `"` + strings.Repeat("s", 31) + `"`, "bf73737373737373737373737373737373737373737373737373737373737373"},
	{"str8 32", `"` + strings.Repeat("s", 32) + `"`, "d9207373737373737373737373737373737373737373737373737373737373737373"},
	{"str8 255", `"` + strings.Repeat("s", 255) + `"`, "d9ff737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373"},
	{"str16 256", `"` + strings.Repeat("s", 256) + `"`, "da010073737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373737373"},
	{"unicode", `"é 日本語 🔑 Ω"`, "b4c3a920e697a5e69cace8aa9e20f09f949120cea9"},
	{"unicode 31 bytes", `"` + strings.Repeat("é", 15) + `a"`, "bfc3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a961"},
	{"unicode 32 bytes", `"` + strings.Repeat("é", 16) + `"`, "d920c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9"},
	{"escapes", `"a\"b\\c\/d\b\f\n\r\t\u0000\u00e9\u2028\ud83d\udd11"`, "b66122625c632f64080c0a0d0900c3a9e280a8f09f9491"},
	{"lone surrogate", `"\ud800x"`, "a4efbfbd78"},
	{"invalid utf-8", "\"a\xffb\"", "a561efbfbd62"},
	{"unicode keys", `{"ключ":"значение","🔑":1}`, "82a8d0bad0bbd18ed187b0d0b7d0bdd0b0d187d0b5d0bdd0b8d0b5a4f09f949101"},

	// Objects and arrays: key order as written, duplicates kept, every
	// header size, nesting.
	{"key order", `{"z":1,"a":2,"m":3}`, "83a17a01a16102a16d03"},
	{"duplicate keys", `{"a":1,"a":2}`, "82a16101a16102"},
	{"empty key", `{"":""}`, "81a0a0"},
	{"fixmap 15", object(15), "8fa26b3000a26b3101a26b3202a26b3303a26b3404a26b3505a26b3606a26b3707a26b3808a26b3909a36b31300aa36b31310ba36b31320ca36b31330da36b31340e"},
	{"map16 16", object(16), "de0010a26b3000a26b3101a26b3202a26b3303a26b3404a26b3505a26b3606a26b3707a26b3808a26b3909a36b31300aa36b31310ba36b31320ca36b31330da36b31340ea36b31350f"},
	{"fixarray 15", array(15), "9f00a131cd07d0a133cd0fa0a135cd1770a137cd1f40a139cd2710a23131cd2ee0a23133cd36b0"},
	{"array16 16", array(16), "dc001000a131cd07d0a133cd0fa0a135cd1770a137cd1f40a139cd2710a23131cd2ee0a23133cd36b0a23135"},
	{"nesting", `{"a":[{"b":[[],{}]},[null,[true,[-1,[1.5,["x"]]]]]],"c":{"d":{"e":{}}}}`, "82a1619281a16292908092c092c392ff92cb3ff800000000000091a178a16381a16481a16580"},
	{"mixed array", `[0,-1,1.5,"s",true,false,null,[],{}]`, "9900ffcb3ff8000000000000a173c3c2c09080"},
	{"deep", strings.Repeat("[", 100) + strings.Repeat("]", 100), "91919191919191919191919191919191919191919191919191919191919191919191919191919191919191919191919191919191919191919191919191919191919191919191919191919191919191919191919191919191919191919191919191919190"},

	// Refused input.
	{"empty input", ``, "error"},
	{"open object", `{`, "error"},
	{"missing value", `{"a":}`, "error"},
	{"trailing comma", `[1,]`, "error"},
	{"two values", `1 2`, "error"},
	{"trailing text", `{"a":1}x`, "error"},
	{"non-string key", `{1:2}`, "error"},
	{"bad literal", `nul`, "error"},
	{"leading zero", `01`, "error"},
	{"bare minus", `-`, "error"},
	{"unterminated string", `"abc`, "error"},
}

// fromJSONLarge pins inputs too large to spell out: the length and SHA-256
// of the output.
var fromJSONLarge = []struct {
	name, json string
	wantLen    int
	wantSHA256 string
}{
	{"str16 65535", `"` + strings.Repeat("s", 65535) + `"`, 65538, "1c6d6775a21b3d2cdfc82a86b37081c283d24a7d2b38d903e880626546aed3b1"},
	{"str32 65536", `"` + strings.Repeat("s", 65536) + `"`, 65541, "4344576e7e1fb79337eefec6bcb58228bf5eb1fa4f6093466f98c743ef2b5148"},
	{"map16 65535", object(65535), 643859, "c3b94509455ab78827ffa3854190926a7f025188c1acf59e65636c80094188ce"},
	{"map32 65536", object(65536), 643871, "7b47e6141929074cb2dc832d23b64c6fffd8077f7204e179aee536fb0441af43"},
	{"array16 65535", array(65535), 354822, "50e32c44efee8cbadecbcb2110083ce6eb54eb9a4c3805196721623d23f44822"},
	{"array32 65536", array(65536), 354830, "6300efe2e9435dac41c6ebdcc48e76d574554c8f5aa4175ac58b13aa6369ec56"},
}

// object returns a JSON object of n members "k0":0, "k1":1, ...
func object(n int) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"k` + strconv.Itoa(i) + `":` + strconv.Itoa(i))
	}
	b.WriteByte('}')
	return b.String()
}

// array returns a JSON array of n alternating numbers and strings.
func array(n int) string {
	var b strings.Builder
	b.WriteByte('[')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		if i%2 == 0 {
			b.WriteString(strconv.Itoa(i * 1000))
		} else {
			b.WriteString(`"` + strconv.Itoa(i) + `"`)
		}
	}
	b.WriteByte(']')
	return b.String()
}

func TestFromJSONGolden(t *testing.T) {
	for _, tt := range fromJSONGolden {
		got, err := FromJSON([]byte(tt.json))
		gotHex := hex.EncodeToString(got)
		if err != nil {
			gotHex = "error"
		}
		if gotHex != tt.want {
			t.Errorf("%s: FromJSON(%.80q) = %s (err %v), want %s", tt.name, tt.json, gotHex, err, tt.want)
		}
	}
	for _, tt := range fromJSONLarge {
		got, err := FromJSON([]byte(tt.json))
		if err != nil {
			t.Errorf("%s: FromJSON: %v", tt.name, err)
			continue
		}
		if sum := sha256.Sum256(got); len(got) != tt.wantLen || hex.EncodeToString(sum[:]) != tt.wantSHA256 {
			t.Errorf("%s: FromJSON = %d bytes, SHA-256 %x; want %d bytes, %s", tt.name, len(got), sum, tt.wantLen, tt.wantSHA256)
		}
	}
}

// decodeGolden maps request bodies (hex) to the parameters they decode
// to, as a JSON object (names sorted); "error" marks refused bodies.
var decodeGolden = []struct{ name, body, want string }{
	{"token and values", "82a5746f6b656ea4676f6f64a16ecd0100", `{"n":"256","token":"good"}`},
	{"empty map", "80", `{}`},
	{"positive fixint", "81a1617f", `{"a":"127"}`},
	{"negative fixint", "81a161e0", `{"a":"-32"}`},
	{"uint8", "81a161ccff", `{"a":"255"}`},
	{"uint16", "81a161cdffff", `{"a":"65535"}`},
	{"uint32", "81a161ceffffffff", `{"a":"4294967295"}`},
	{"uint64", "81a161cfffffffffffffffff", `{"a":"18446744073709551615"}`},
	{"int8", "81a161d080", `{"a":"-128"}`},
	{"int16", "81a161d18000", `{"a":"-32768"}`},
	{"int32", "81a161d280000000", `{"a":"-2147483648"}`},
	{"int64", "81a161d38000000000000000", `{"a":"-9223372036854775808"}`},
	{"positive int64", "81a161d30000000000000005", `{"a":"5"}`},
	{"float32", "81a161ca3fc00000", `{"a":"1.5"}`},
	{"float32 fraction", "81a161ca3dcccccd", `{"a":"0.10000000149011612"}`},
	{"float64", "81a161cb3ff8000000000000", `{"a":"1.5"}`},
	{"float64 large", "81a161cb44b52d02c7e14af6", `{"a":"1e+23"}`},
	{"float64 NaN", "81a161cb7ff8000000000000", `{"a":"NaN"}`},
	{"float64 +Inf", "81a161cb7ff0000000000000", `{"a":"+Inf"}`},
	{"nil", "81a161c0", `{"a":""}`},
	{"true", "81a161c3", `{"a":"true"}`},
	{"false", "81a161c2", `{"a":"false"}`},
	{"str8", "81a161d903616263", `{"a":"abc"}`},
	{"str16", "81a161da0003616263", `{"a":"abc"}`},
	{"str32", "81a161db00000003616263", `{"a":"abc"}`},
	{"bin8", "81a161c403616263", `{"a":"abc"}`},
	{"bin16", "81a161c50003616263", `{"a":"abc"}`},
	{"bin32", "81a161c600000003616263", `{"a":"abc"}`},
	{"str8 key", "81d9016101", `{"a":"1"}`},
	{"bin key", "81c4016101", `{"a":"1"}`},
	{"unicode", "81a2c3a9a4f09f9491", `{"é":"🔑"}`},
	{"invalid utf-8 value", "81a161a2ff61", `{"a":"\ufffda"}`},
	{"map16", "de0001a16101", `{"a":"1"}`},
	{"map32", "df00000001a16101", `{"a":"1"}`},
	{"nested array", "81a1619501a162c0c3cb3ff8000000000000", `{"a":"[1,\"b\",null,true,1.5]"}`},
	{"nested map sorted", "81a16183a17a01a16102a16d92c0a178", `{"a":"{\"a\":2,\"m\":[null,\"x\"],\"z\":1}"}`},
	{"nested bin and float32", "81a1619282a162c40178a163ca3fc00000c2", `{"a":"[{\"b\":\"x\",\"c\":1.5},false]"}`},
	{"nested array16 and map16", "81a161dc0002de0001a16201dd00000001df00000000", `{"a":"[{\"b\":1},[{}]]"}`},
	{"nested uint64", "81a16191cfffffffffffffffff", `{"a":"[18446744073709551615]"}`},
	{"nested float64 NaN", "81a16191cb7ff8000000000000", `error`},
	{"duplicate name", "82a16101a16102", `{"a":"2"}`},
	{"depth 32", "81a161" + strings.Repeat("91", 32) + "c0", `{"a":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[null]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"}`},

	{"empty body", "", `error`},
	{"array body", "90", `error`},
	{"string body", "a161", `error`},
	{"int key", "810102", `error`},
	{"nil key", "81c001", `error`},
	{"nested int key", "81a1618101c0", `error`},
	{"truncated key", "81a361", `error`},
	{"missing value", "81a161", `error`},
	{"truncated map32 length", "dfffffff", `error`},
	{"truncated map16 length", "de00", `error`},
	{"huge map", "dfffffffffa16101", `error`},
	{"reserved type", "81a161c1", `error`},
	{"fixext1", "81a161d40101", `error`},
	{"ext8", "81a161c7010101", `error`},
	{"timestamp ext", "81a161d6ff00000000", `error`},
	{"trailing data", "8000", `error`},
	{"huge array", "81a161ddffffffff", `error`},
	{"huge nested map", "81a161dfffffffff", `error`},
	{"huge str32", "81a161dbffffffff", `error`},
	{"truncated str", "81a161a3ab", `error`},
	{"truncated uint64", "81a161cf0000", `error`},
	{"truncated float32", "81a161ca3f", `error`},
	{"truncated float64", "81a161cb3ff8", `error`},
	{"depth 33", "81a161" + strings.Repeat("91", 33) + "c0", `error`},
}

func TestDecodeFlatMapGolden(t *testing.T) {
	for _, tt := range decodeGolden {
		body, err := hex.DecodeString(tt.body)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		m, err := DecodeFlatMap(body)
		got := "error"
		if err == nil {
			js, jerr := json.Marshal(m)
			if jerr != nil {
				t.Fatalf("%s: %v", tt.name, jerr)
			}
			got = string(js)
		}
		if got != tt.want {
			t.Errorf("%s: DecodeFlatMap(%s) = %s (err %v), want %s", tt.name, tt.body, got, err, tt.want)
		}
	}
}

// TestDecodeFlatMapRefusesTruncation: every strict prefix of an accepted
// body is refused.
func TestDecodeFlatMapRefusesTruncation(t *testing.T) {
	for _, tt := range decodeGolden {
		if tt.want == "error" {
			continue
		}
		body, _ := hex.DecodeString(tt.body)
		for n := range len(body) {
			if m, err := DecodeFlatMap(body[:n]); err == nil {
				t.Errorf("%s: DecodeFlatMap(%x) (first %d of %d bytes) = %v, want an error", tt.name, body[:n], n, len(body), m)
			}
		}
	}
}
