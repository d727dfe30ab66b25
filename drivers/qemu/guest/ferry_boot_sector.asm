; ferry's boot sector: proves firmware boot from a disk (<os><boot dev='hd'/>).
; SeaBIOS loads this sector to 0x7C00 and jumps to it; it writes one line
; to the first serial port (COM1, port 0x3F8) and halts. Assembled with
; nasm -f bin; tests put it at the start of a raw disk image.
bits 16
org 0x7c00

start:
    cli
    xor ax, ax
    mov ds, ax
    mov si, message
.next:
    lodsb
    test al, al
    jz .halt
    mov bl, al
.wait:                      ; until the transmit register is empty
    mov dx, 0x3fd
    in al, dx
    test al, 0x20
    jz .wait
    mov dx, 0x3f8
    mov al, bl
    out dx, al
    jmp .next
.halt:
    hlt
    jmp .halt

message db "ferry-boot: booted from hd", 13, 10, 0

times 510 - ($ - $$) db 0
dw 0xaa55
