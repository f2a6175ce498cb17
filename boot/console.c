// SPDX-License-Identifier: MIT
/*
 * SCLP console driver, output only.
 *
 * Every string goes out on each console type the SCLP accepts, as consoles
 * differ between machines: ASCII console events (type 0x1A: QEMU's default
 * sclpconsole, the HMC's Integrated ASCII Console) and line-mode message
 * events (type 0x02, EBCDIC: the HMC's Operating System Messages, z/VM).
 * The SCLP says which it accepts in its answer to WRITE EVENT MASK.
 */
#include <stddef.h>
#include <stdint.h>

#include "console.h"
#include "lib.h"
#include "s390.h"

#define SCLP_CMD_WRITE_EVENT_MASK	0x00780005u
#define SCLP_CMD_WRITE_EVENT_DATA	0x00760005u
#define SCLP_RC_NORMAL_COMPLETION	0x0020

#define EVTYP_MSG			0x02
#define EVTYP_ASCII			0x1a
/* Event type t is bit t - 1 (MSB0) of a 4-byte event mask. */
#define EVMASK(t)			(UINT32_C(1) << (32 - (t)))

#define CR0_SERVICE_SIGNAL		UINT64_C(0x200)
#define EXT_CODE_SERVICE_SIGNAL		0x2401

#define EBCDIC_UNKNOWN			0x6f	/* '?' */

/*
 * One buffer for every request, aligned to its size: the SCLP refuses an SCCB
 * that crosses a page boundary, and the stage3a .bss is only one page. Longer
 * text goes out in several requests.
 */
#define SCCB_SIZE			1024
static uint8_t sccb[SCCB_SIZE] __attribute__((aligned(SCCB_SIZE)));

struct sccb_header {
	uint16_t length;
	uint8_t function_code;
	uint8_t control_mask[3];
	uint16_t response_code;
} __attribute__((packed));

struct write_mask_sccb {
	struct sccb_header h;
	uint16_t reserved;
	uint16_t mask_length;
	uint32_t cp_receive;
	uint32_t cp_send;
	uint32_t sclp_receive;	/* event types the SCLP takes from us */
	uint32_t sclp_send;
} __attribute__((packed));

struct evbuf_header {
	uint16_t length;
	uint8_t type;
	uint8_t flags;
	uint16_t reserved;
} __attribute__((packed));

/* Line-mode message: message data block header, general object, text objects. */
struct mdb_header {
	uint16_t length;
	uint16_t type;
	uint32_t tag;
	uint32_t revision;
} __attribute__((packed));

struct mdb_go {
	uint16_t length;
	uint16_t type;
	uint8_t unused[52];
} __attribute__((packed));

struct mdb_mto {
	uint16_t length;
	uint16_t type;
	uint16_t line_type_flags;
	uint8_t alarm;
	uint8_t reserved[3];
} __attribute__((packed));

#define MDB_TAG_EBCDIC_MDB	0xd4c4c240u	/* "MDB " in EBCDIC */
#define MTO_TYPE_TEXT		4
#define MTO_DATA_LINE		0x1000

/* 0: not set up yet; else CONSOLE_READY plus the event-type mask bits we may send. */
static uint32_t console_state;
#define CONSOLE_READY		UINT32_C(1)

/* ASCII 0x20..0x7e to EBCDIC code page 1047. */
static const uint8_t ebcdic_1047[95] = {
	0x40, 0x5a, 0x7f, 0x7b, 0x5b, 0x6c, 0x50, 0x7d, 0x4d, 0x5d, 0x5c, 0x4e,
	0x6b, 0x60, 0x4b, 0x61, 0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7,
	0xf8, 0xf9, 0x7a, 0x5e, 0x4c, 0x7e, 0x6e, 0x6f, 0x7c, 0xc1, 0xc2, 0xc3,
	0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6,
	0xd7, 0xd8, 0xd9, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xad,
	0xe0, 0xbd, 0x5f, 0x6d, 0x79, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
	0x88, 0x89, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0xa2,
	0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xc0, 0x4f, 0xd0, 0xa1,
};

static uint8_t to_ebcdic(char c)
{
	unsigned char u = (unsigned char)c;

	if (u < 0x20 || u > 0x7e)
		return EBCDIC_UNKNOWN;
	return ebcdic_1047[u - 0x20];
}

/* SERVICE CALL; returns its condition code. */
static int servc(uint32_t cmd, void *block)
{
	int cc;

	asm volatile(".insn	rre,0xb2200000,%[cmd],%[blk]\n"
		     "	ipm	%[cc]\n"
		     "	srl	%[cc],28\n"
		     : [cc] "=&d"(cc)
		     : [cmd] "d"(cmd), [blk] "a"(block)
		     : "cc", "memory");
	return cc;
}

/* The SCLP signals completion (and "no longer busy") with a service-signal interrupt. */
static void wait_service_signal(void)
{
	uint64_t cr0 = ctl0_store();

	ctl0_load(cr0 | CR0_SERVICE_SIGNAL);
	do
		cpu_wait_ext();
	while (*(volatile uint16_t *)absptr(LC_EXT_INT_CODE) != EXT_CODE_SERVICE_SIGNAL);
	ctl0_load(cr0);
}

/* Run one SCLP command on sccb[]; returns the response code, 0 if none. */
static uint16_t sclp_call(uint32_t cmd)
{
	const struct sccb_header *h = (const void *)sccb;
	int cc;

	for (;;) {
		cc = servc(cmd, sccb);
		if (cc == 0)
			break;
		if (cc != 2)	/* 3: not operational */
			return 0;
		wait_service_signal();	/* 2: busy with an earlier request */
	}
	wait_service_signal();
	return h->response_code;
}

static void console_setup(void)
{
	struct write_mask_sccb *m = (void *)sccb;
	uint32_t wanted = EVMASK(EVTYP_MSG) | EVMASK(EVTYP_ASCII);

	console_state = CONSOLE_READY;
	memset(sccb, 0, sizeof(*m));
	m->h.length = sizeof(*m);
	m->mask_length = sizeof(uint32_t);
	m->cp_send = wanted;
	if (sclp_call(SCLP_CMD_WRITE_EVENT_MASK) == SCLP_RC_NORMAL_COMPLETION)
		console_state |= m->sclp_receive & wanted;
}

/* Sends at most one SCCB worth of text; returns how many bytes of @s it used. */
static size_t write_ascii(const char *s)
{
	struct sccb_header *h = (void *)sccb;
	struct evbuf_header *ev = (void *)(h + 1);
	char *out = (char *)(ev + 1);
	char *end = (char *)sccb + SCCB_SIZE;
	size_t used = 0;

	memset(sccb, 0, sizeof(*h) + sizeof(*ev));
	/* Raw terminals need CR LF; the Linux VT220 console driver does the same. */
	while (s[used] && out + 2 <= end) {
		if (s[used] == '\n')
			*out++ = '\r';
		*out++ = s[used++];
	}
	ev->type = EVTYP_ASCII;
	ev->length = (uint16_t)(out - (char *)ev);
	h->length = (uint16_t)(out - (char *)h);
	sclp_call(SCLP_CMD_WRITE_EVENT_DATA);
	return used;
}

/* One text object per line, as much as fits into one SCCB. */
static size_t write_line_mode(const char *s)
{
	struct sccb_header *h = (void *)sccb;
	struct evbuf_header *ev = (void *)(h + 1);
	struct mdb_header *mdb = (void *)(ev + 1);
	struct mdb_go *go = (void *)(mdb + 1);
	uint8_t *out = (uint8_t *)(go + 1);
	uint8_t *end = sccb + SCCB_SIZE;
	size_t used = 0;

	memset(sccb, 0, (size_t)(out - sccb));
	mdb->type = 1;
	mdb->tag = MDB_TAG_EBCDIC_MDB;
	mdb->revision = 1;
	go->length = sizeof(*go);
	go->type = 1;
	while (s[used] && out + sizeof(struct mdb_mto) + 1 <= end) {
		struct mdb_mto *mto = (void *)out;

		memset(mto, 0, sizeof(*mto));
		mto->type = MTO_TYPE_TEXT;
		mto->line_type_flags = MTO_DATA_LINE;
		out += sizeof(*mto);
		while (s[used] && s[used] != '\n' && out < end)
			*out++ = to_ebcdic(s[used++]);
		if (s[used] == '\n')
			used++;
		mto->length = (uint16_t)(out - (uint8_t *)mto);
	}
	mdb->length = (uint16_t)(out - (uint8_t *)mdb);
	ev->type = EVTYP_MSG;
	ev->length = (uint16_t)(out - (uint8_t *)ev);
	h->length = (uint16_t)(out - sccb);
	sclp_call(SCLP_CMD_WRITE_EVENT_DATA);
	return used;
}

void console_write(const char *s)
{
	const char *p;

	if (!console_state)
		console_setup();
	if (console_state & EVMASK(EVTYP_ASCII))
		for (p = s; *p;)
			p += write_ascii(p);
	if (console_state & EVMASK(EVTYP_MSG))
		for (p = s; *p;)
			p += write_line_mode(p);
}

void console_reset(void)
{
	console_state = 0;
}

void panic(const char *msg, uint64_t wait_code)
{
	console_write(msg);
	disabled_wait(wait_code);
}

char *fmt_str(char *p, char *end, const char *s)
{
	while (*s && p < end - 1)
		*p++ = *s++;
	*p = '\0';
	return p;
}

char *fmt_hex(char *p, char *end, uint64_t v, unsigned int digits)
{
	static const char hex[] = "0123456789abcdef";
	char tmp[19];
	unsigned int i;

	if (digits > 16)
		digits = 16;
	tmp[0] = '0';
	tmp[1] = 'x';
	for (i = 0; i < digits; i++)
		tmp[1 + digits - i] = hex[(v >> (4 * i)) & 0xf];
	tmp[2 + i] = '\0';
	return fmt_str(p, end, tmp);
}
