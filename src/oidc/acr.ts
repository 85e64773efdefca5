/** Authentication levels Gatehouse advertises and puts in ID tokens. */
export const ACR_PASSWORD = 'urn:gatehouse:loa:1';
/** Password and a second factor (authenticator app or recovery code). */
export const ACR_SECOND_FACTOR = 'urn:gatehouse:loa:2';
