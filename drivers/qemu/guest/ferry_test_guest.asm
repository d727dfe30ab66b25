; ferry's QEMU test guest: a multiboot (v1) kernel that fills guest RAM with
; a pattern, then keeps writing one word per 4 KiB page over a window, so a
; live migration has real data to move and pages to send again.
;
; The window size in bytes is a little-endian u32 at PARAM_ADDR, written by
; `-device loader,addr=0x1ff000,data=N,data-len=4` (the qemu driver passes
; `<workload working-set>` that way). 0 (no loader): fill, then halt.
;
; A u32 at RATE_ADDR paces the writes to that many pages per second
; (`<workload dirty-rate>`); 0 writes as fast as the vCPU runs. The pace is
; CPU work, not a clock: at boot the guest counts how many spin units fit in
; 40 ms of the PIT and then spins that share of a second after each page. So
; a vCPU that QEMU throttles (auto-converge) really dirties less, as a busy
; real guest would.
;
;
; When the fill is done it writes FILLED_MSG to I/O port 0xE9 (QEMU's
; isa-debugcon; the driver routes it to STATE/qemu/run/DOM.console), so tests
; and benchmarks wait for written RAM instead of sleeping. Without the device
; the port writes go nowhere.
;
; Loaded as a flat binary with the multiboot "a.out kludge" (flag bit 16), so
; QEMU's -kernel needs no ELF. Built by Meson: nasm -f bin -o OUT THIS_FILE.
; RAM is filled from FILL_START to the end of the first RAM range multiboot
; reports (all of it below 3.5 GiB).

bits 32
org 0x100000

MB_MAGIC    equ 0x1BADB002
MB_FLAGS    equ 0x00010002          ; bit 1: memory info, bit 16: addresses
PARAM_ADDR  equ 0x1FF000            ; u32 working set (bytes)
RATE_ADDR   equ 0x1FF004            ; u32 pages per second (0: unpaced)
SPIN_UNIT   equ 1024                ; iterations of one pacing spin unit
PIT_40MS    equ 47727               ; 40 ms of the 1.193182 MHz PIT
FILL_START  equ 0x200000            ; RAM from here on is filled and dirtied
PATTERN     equ 0x5EED0F11

header:
  dd MB_MAGIC
  dd MB_FLAGS
  dd -(MB_MAGIC + MB_FLAGS)
  dd header                         ; header_addr
  dd header                         ; load_addr
  dd image_end                      ; load_end_addr
  dd image_end                      ; bss_end_addr
  dd start                          ; entry_addr
signature:
  db "FERRY-TEST-GUEST-1", 0        ; the driver recognises the kernel by this
filled_msg:
  db "ferry-test-guest: RAM filled", 10
filled_len equ $ - filled_msg

start:                              ; eax = multiboot magic, ebx = its info
  cli
  mov esi, [PARAM_ADDR]             ; working set, read before the fill
  mov ebp, [ebx + 8]                ; mem_upper: KiB above 1 MiB
  shl ebp, 10
  add ebp, 0x100000
  and ebp, ~0xFFF                   ; ebp = end of RAM

  ; Pass 1, one word per page: within milliseconds no page is a zero page
  ; (QEMU sends those as a flag), so every page migrates as 4 KiB.
  mov edi, FILL_START
.touch:
  mov [edi], edi
  add edi, 4096
  cmp edi, ebp
  jb .touch

  ; Pass 2, the whole of every page: 16-byte SSE stores (about 4x faster
  ; than dword stores under TCG). Enable SSE: CR0.EM off, CR0.MP and
  ; CR4.OSFXSR/OSXMMEXCPT on.
  mov eax, cr0
  and eax, ~4
  or eax, 2
  mov cr0, eax
  mov eax, cr4
  or eax, 0x600
  mov cr4, eax
  mov edi, FILL_START
.page:                              ; each page: its address ^ PATTERN
  mov eax, edi
  xor eax, PATTERN
  movd xmm0, eax
  pshufd xmm0, xmm0, 0
  lea edx, [edi + 4096]
.fill:
  movdqa [edi], xmm0
  movdqa [edi + 16], xmm0
  movdqa [edi + 32], xmm0
  movdqa [edi + 48], xmm0
  movdqa [edi + 64], xmm0
  movdqa [edi + 80], xmm0
  movdqa [edi + 96], xmm0
  movdqa [edi + 112], xmm0
  add edi, 128
  cmp edi, edx
  jb .fill
  cmp edi, ebp
  jb .page

  ; Tell the console the RAM is written.
  mov esi, filled_msg
  mov ecx, filled_len
  mov dx, 0xE9
  cld
  rep outsb
  mov esi, [PARAM_ADDR]             ; reload the working set (below the fill)

  ; The workload: a generation counter written into the first word of
  ; every page of [FILL_START, FILL_START + working set), forever.
  test esi, esi
  jz .idle
  lea ecx, [esi + FILL_START]       ; window end, clamped to RAM
  cmp ecx, ebp
  jbe .window
  mov ecx, ebp
.window:
  mov esi, ecx                      ; esi = window end
  xor ebx, ebx                      ; ebx = spin units per page (0: unpaced)
  mov ebp, [RATE_ADDR]              ; ebp = pages per second
  test ebp, ebp
  jz .dirty

  ; Calibrate: count spin units until 40 ms of PIT channel 0 have passed.
  ; Interrupts are off; mode 2 with reload 65536 counts down and wraps, so
  ; the elapsed ticks are (start - now) mod 65536, polled every few us.
  mov al, 0x34                      ; channel 0, lo/hi byte, mode 2, binary
  out 0x43, al
  xor al, al
  out 0x40, al
  out 0x40, al
  out 0x43, al                      ; latch channel 0
  in al, 0x40
  mov ah, al
  in al, 0x40
  xchg al, ah
  movzx edi, ax                     ; edi = count at the start
.calibrate:
  mov ecx, SPIN_UNIT
.calibrate_spin:
  dec ecx
  jnz .calibrate_spin
  inc ebx
  xor al, al
  out 0x43, al
  in al, 0x40
  mov ah, al
  in al, 0x40
  xchg al, ah
  movzx eax, ax
  mov ecx, edi
  sub ecx, eax
  and ecx, 0xFFFF
  cmp ecx, PIT_40MS
  jb .calibrate
  mov eax, ebx                      ; units per second / pages per second
  mov ecx, 25
  mul ecx
  div ebp
  mov ebx, eax

.dirty:
  xor edx, edx
.pass:
  inc edx
  mov edi, FILL_START
.dirty_page:
  mov [edi], edx
  mov eax, ebx
.pace:
  test eax, eax
  jz .next_page
  mov ecx, SPIN_UNIT
.pace_spin:
  dec ecx
  jnz .pace_spin
  dec eax
  jmp .pace
.next_page:
  add edi, 4096
  cmp edi, esi
  jb .dirty_page
  jmp .pass

.idle:
  hlt
  jmp .idle

image_end:
