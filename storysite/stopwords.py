"""English and Indonesian stop words: words too common to say what a story is about."""

from __future__ import annotations


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


ENGLISH = _words(
    """
    a about above after again against all almost also although always am among an and another any anyone
    anything are around as at away back be became because become been before being below between both but by
    can cannot could did do does doing done down during each either else enough even ever every few first for
    from further get gets getting give given go goes going gone got had has have having he her here hers
    herself him himself his how however i if in into is it its itself just last least less let like made
    make makes many may me might mine more most much must my myself never new next no nor not nothing now of
    off often on once one only onto or other others our ours ourselves out over own per perhaps put quite
    rather really said same say says see seen several shall she should since so some someone something
    still such than that the their theirs them themselves then there these they thing things this those
    though through thus to too toward towards two under until up upon us use used using very via was way we
    well were what whatever when where whether which while who whom whose why will with within without
    would yes yet you your yours yourself yourselves
    don doesn didn isn aren wasn weren won wouldn couldn shouldn ll ve re
    three four five six seven eight nine ten twenty hundred thousand second third half
    ago already across along anyway around asked back bit came come comes day days did end told tell
    keep kept know knew lot lots maybe mean means men mr mrs ms much need needs needed part people
    right since sometimes soon sure take takes taken took time times today tomorrow try tried want
    wanted week weeks went yesterday year years
    """
)

INDONESIAN = _words(
    """
    ada adalah agar akan aku anda antara apa apabila atas atau bagaimana bagi bahkan bahwa banyak baru
    beberapa begitu belum benar berapa berbagai bisa boleh bukan cukup dalam dan dapat dari daripada demikian
    dengan di dia dulu hal hampir hanya harus hingga ia ialah ini itu jadi jika juga kalau kami kamu karena
    ke kemudian kepada ketika kita lagi lain lalu lebih maka masih mau melalui memang mereka mungkin namun
    nanti oleh pada paling para pernah pula punya saat saja sambil sampai sangat saya se sebagai sebelum
    sebuah secara sedang sejak sekali sekarang selalu semua sendiri seperti sering setelah siapa sudah
    supaya tanpa tapi telah tentang tersebut tetapi tidak untuk waktu yaitu yakni yang
    adanya akhirnya amat apakah apalagi asal bakal bawah begini belakang berada bersama besar betul
    biasa biasanya bila buat bukankah cara cuma dahulu datang demi depan diri hari hendak itulah jangan
    jauh jelas kala kali kalian kapan kata katanya kecil kembali kenapa khususnya kini kurang lama
    lewat luar macam maupun melakukan melihat membuat memberi memiliki mempunyai menjadi mengatakan
    menggunakan merupakan minta mulai nah naik nya orang padahal panjang perlu pertama pun rasa sama
    sebab sedikit segala sehingga sekitar selain seluruh sesuatu setiap sini situ suatu tadi tahu tahun
    tak tentu terhadap terjadi termasuk tiap tiba toh turut umum walau walaupun ingin merasa hal-hal
    satu dua tiga empat lima enam tujuh delapan sembilan sepuluh puluh ratus ribu
    bu ibu pak bapak mbak mas kak bang
    """
)

STOP_WORDS = ENGLISH | INDONESIAN
