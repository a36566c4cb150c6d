// Filled in by the io work. 
export {};
